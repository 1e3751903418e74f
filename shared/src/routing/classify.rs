//! The one classification of a failed attempt. Adapters say *what* failed ([`ErrorClass`], from the status
//! and the provider's error body); this module alone decides what the engine does about it: retry, fall over
//! (and under which of the policy's `fallover_on` classes), cool the target down, or stop; and what the
//! caller is told.

use crate::domain::policy::{ErrorClass as FalloverClass, KeyKind};
use crate::domain::provider::Provider;
use crate::error::{Error, ErrorKind};
use crate::providers::{ErrorClass, ProviderError};

/// Worth trying the same target again.
pub fn is_retryable(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::Timeout
            | ErrorClass::Connect
            | ErrorClass::RateLimited
            | ErrorClass::Overloaded
            | ErrorClass::Server
    )
}

/// The policy class under which a failure may move on to the next key or step; `None` for the failures
/// that must never fall over (the caller's own invalid request, a content refusal).
pub fn fallover_class(class: ErrorClass, key: KeyKind) -> Option<FalloverClass> {
    Some(match class {
        ErrorClass::Timeout => FalloverClass::Timeout,
        ErrorClass::Connect => FalloverClass::ConnectionError,
        ErrorClass::RateLimited => FalloverClass::RateLimited,
        ErrorClass::Overloaded | ErrorClass::Server => FalloverClass::ServerError,
        ErrorClass::KeyRejected => match key {
            KeyKind::Own => FalloverClass::OwnKeyRejected,
            KeyKind::Platform => FalloverClass::PlatformKeyRejected,
        },
        ErrorClass::CallerError | ErrorClass::Refusal => return None,
    })
}

/// Whether a failure counts towards the target's cooldown. A timeout counts only when the attempt had the
/// full default time (`tightened` is false): a caller who tightened its step's timeout or its policy's
/// deadline learns nothing about the provider, and must not make others (who share the platform key) skip
/// it.
pub fn cools_down(class: ErrorClass, tightened: bool) -> bool {
    match class {
        ErrorClass::Timeout => !tightened,
        ErrorClass::CallerError | ErrorClass::Refusal => false,
        _ => true,
    }
}

/// The attempt's outcome as the attempt trace names it.
pub fn outcome(e: &ProviderError) -> String {
    match (e.class, e.status) {
        (ErrorClass::Timeout, _) => "timeout".into(),
        (ErrorClass::Connect, _) => "connect_error".into(),
        (_, Some(status)) => format!("http_{status}"),
        (ErrorClass::Refusal, None) => "refused".into(),
        _ => "stream_error".into(),
    }
}

/// The client-facing error for a provider failure that ends the request. A failure of the operator's
/// platform key is told without the provider's own words, which may name the operator's account, quota or
/// organisation; the caller's own error (or a refusal) keeps them: they are about its request.
pub fn client_error(provider: Provider, key: KeyKind, e: &ProviderError) -> Error {
    let kind = match (e.class, e.status) {
        (ErrorClass::CallerError, Some(404)) => ErrorKind::NotFound,
        (ErrorClass::CallerError, Some(413)) => ErrorKind::PayloadTooLarge,
        (ErrorClass::CallerError, Some(422)) => ErrorKind::Unprocessable,
        (ErrorClass::CallerError, _) | (ErrorClass::Refusal, _) => ErrorKind::InvalidRequest,
        (ErrorClass::Timeout, _) => ErrorKind::Timeout,
        (ErrorClass::RateLimited, _) => ErrorKind::RateLimited,
        _ => ErrorKind::Upstream,
    };
    let callers_own = matches!(e.class, ErrorClass::CallerError | ErrorClass::Refusal);
    if key == KeyKind::Platform && !callers_own {
        let what = match e.class {
            ErrorClass::Timeout => "did not answer in time",
            ErrorClass::Connect => "could not be reached",
            ErrorClass::RateLimited => "is rate limiting the gateway's platform key",
            ErrorClass::KeyRejected => "did not accept the gateway's platform key",
            _ => "failed",
        };
        let status = e.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
        return Error::new(kind, format!("{provider} {what}{status}"));
    }
    Error::new(kind, format!("{provider}: {}", e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ErrorClass; 8] = [
        ErrorClass::Timeout,
        ErrorClass::Connect,
        ErrorClass::RateLimited,
        ErrorClass::Overloaded,
        ErrorClass::Server,
        ErrorClass::KeyRejected,
        ErrorClass::CallerError,
        ErrorClass::Refusal,
    ];

    #[test]
    fn the_callers_own_errors_never_retry_fall_over_or_cool_down() {
        for class in [ErrorClass::CallerError, ErrorClass::Refusal] {
            assert!(!is_retryable(class));
            assert_eq!(fallover_class(class, KeyKind::Own), None);
            assert_eq!(fallover_class(class, KeyKind::Platform), None);
            assert!(!cools_down(class, false));
        }
    }

    #[test]
    fn every_other_failure_falls_over_under_its_policy_class() {
        for class in ALL {
            let falls = fallover_class(class, KeyKind::Own).is_some();
            let caller = matches!(class, ErrorClass::CallerError | ErrorClass::Refusal);
            assert_eq!(falls, !caller, "{class:?}");
            assert_eq!(
                is_retryable(class),
                !caller && class != ErrorClass::KeyRejected,
                "{class:?}"
            );
        }
        assert_eq!(
            fallover_class(ErrorClass::KeyRejected, KeyKind::Own),
            Some(FalloverClass::OwnKeyRejected)
        );
        assert_eq!(
            fallover_class(ErrorClass::KeyRejected, KeyKind::Platform),
            Some(FalloverClass::PlatformKeyRejected)
        );
        assert_eq!(
            fallover_class(ErrorClass::Overloaded, KeyKind::Own),
            Some(FalloverClass::ServerError)
        );
    }

    #[test]
    fn platform_key_failures_do_not_show_the_providers_words() {
        let e = ProviderError {
            class: ErrorClass::KeyRejected,
            status: Some(429),
            message: "You exceeded your current quota for organization org-operator123".into(),
            retry_after: None,
        };
        let own = client_error(Provider::OpenAi, KeyKind::Own, &e);
        assert!(own.message.contains("org-operator123"), "{}", own.message);
        let platform = client_error(Provider::OpenAi, KeyKind::Platform, &e);
        assert_eq!(
            platform.message,
            "openai did not accept the gateway's platform key (HTTP 429)"
        );
        let callers = ProviderError {
            class: ErrorClass::CallerError,
            status: Some(400),
            message: "max_tokens is too large".into(),
            retry_after: None,
        };
        let told = client_error(Provider::OpenAi, KeyKind::Platform, &callers);
        assert_eq!(told.message, "openai: max_tokens is too large");
        assert_eq!(told.kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn a_tightened_timeout_does_not_cool_a_target_down() {
        assert!(!cools_down(ErrorClass::Timeout, true));
        assert!(cools_down(ErrorClass::Timeout, false));
        assert!(cools_down(ErrorClass::Server, true));
    }
}
