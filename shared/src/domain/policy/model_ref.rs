//! Model ids as used in requests and policies: `<provider>/<model>`, `policy/<name>`, or a bare model name.
//!
//! - A bare name (no `/`), as clients send by default (`claude-sonnet-4-5-20250929`, `gpt-4.1`, `o3`,
//!   `gemini-2.5-pro`, `grok-4`), resolves to its provider through the catalogue and its family rules
//!   ([`crate::catalogue::Catalogue::provider_of`]): it is exactly `<provider>/<name>`. A bare name of no
//!   known family is a 404 (`NotFound`) naming the accepted forms.
//! - `provider` is one of `openai`, `anthropic`, `google`, `xai`.
//! - `model` is 1–128 characters of `[A-Za-z0-9._:-]` and `/`; a `/` may only separate non-empty
//!   segments (no leading, trailing or doubled `/`). Slashes are allowed because some provider model
//!   names carry them (e.g. Google's `models/gemini-2.5-flash`); the provider is always the first segment.
//! - `name` (of a policy) is `[a-z0-9][a-z0-9_-]{0,63}`: URL-safe, so it can sit in `/v1/policies/{name}`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::MAX_NAME_LEN;
use crate::catalogue::Catalogue;
use crate::domain::provider::Provider;
use crate::error::{Error, ErrorKind, Result};

/// Longest model part of `<provider>/<model>`.
pub const MAX_MODEL_LEN: usize = 128;

/// The prefix that names a policy instead of a provider.
pub const POLICY_PREFIX: &str = "policy";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelRef {
    Model { provider: Provider, model: String },
    Policy(String),
}

impl ModelRef {
    pub fn policy_name(&self) -> Option<&str> {
        match self {
            ModelRef::Policy(name) => Some(name),
            ModelRef::Model { .. } => None,
        }
    }

    pub fn provider(&self) -> Option<Provider> {
        match self {
            ModelRef::Model { provider, .. } => Some(*provider),
            ModelRef::Policy(_) => None,
        }
    }
}

/// Check a policy name; the error's param is `param`.
pub fn validate_policy_name(name: &str, param: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            param,
            format!(
                "{param} must be 1-{MAX_NAME_LEN} characters of a-z, 0-9, '_' and '-', starting with a letter or digit"
            ),
        ))
    }
}

fn valid_model(model: &str) -> bool {
    !model.is_empty()
        && model.len() <= MAX_MODEL_LEN
        && model.split('/').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        })
}

impl ModelRef {
    /// Parse, with errors naming `param` (e.g. `steps[1].model`).
    pub fn parse_as(value: &str, param: &str) -> Result<Self> {
        let Some((prefix, rest)) = value.split_once('/') else {
            return Self::bare(value, param);
        };
        if prefix == POLICY_PREFIX {
            validate_policy_name(rest, param).map_err(|_| {
                Error::invalid(
                    param,
                    format!(
                        "{param}: the policy name after 'policy/' must be 1-{MAX_NAME_LEN} characters of a-z, 0-9, '_' and '-', starting with a letter or digit"
                    ),
                )
            })?;
            return Ok(ModelRef::Policy(rest.to_owned()));
        }
        let provider: Provider = prefix.parse().map_err(|_| {
            Error::invalid(
                param,
                format!(
                    "{param}: unknown provider '{}'; expected one of openai, anthropic, google, xai, or 'policy'",
                    prefix.escape_debug()
                ),
            )
        })?;
        if !valid_model(rest) {
            return Err(Error::invalid(
                param,
                format!(
                    "{param}: the model after '{provider}/' must be 1-{MAX_MODEL_LEN} characters of A-Z, a-z, 0-9, '.', '_', ':', '-' (and '/' between segments)"
                ),
            ));
        }
        Ok(ModelRef::Model {
            provider,
            model: rest.to_owned(),
        })
    }
}

impl ModelRef {
    /// A bare model name → `<provider>/<name>` (see the module notes).
    fn bare(value: &str, param: &str) -> Result<Self> {
        let provider = if valid_model(value) {
            Catalogue::provider_of(value)
        } else {
            None
        };
        match provider {
            Some(provider) => Ok(ModelRef::Model {
                provider,
                model: value.to_owned(),
            }),
            None if value.is_empty() || !valid_model(value) => Err(Error::invalid(
                param,
                format!(
                    "{param} must be '<provider>/<model>' (provider one of openai, anthropic, google, xai), 'policy/<name>', or a model name such as claude-sonnet-4-5 or gpt-4.1"
                ),
            )),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "{param}: the model '{value}' is not known; name it as '<provider>/<model>' (provider one of openai, anthropic, google, xai) or 'policy/<name>' (bare names are resolved for the claude-*, gpt-*, o1/o3/o4-*, chatgpt-*, gemini-* and grok-* families and the catalogue's models)"
                ),
            )
            .with_param(param)),
        }
    }
}

impl FromStr for ModelRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse_as(s, "model")
    }
}

impl TryFrom<String> for ModelRef {
    type Error = Error;

    fn try_from(value: String) -> Result<Self> {
        value.parse()
    }
}

impl From<ModelRef> for String {
    fn from(value: ModelRef) -> Self {
        value.to_string()
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelRef::Model { provider, model } => write!(f, "{provider}/{model}"),
            ModelRef::Policy(name) => write!(f, "{POLICY_PREFIX}/{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_models_and_policies() {
        let m: ModelRef = "anthropic/claude-sonnet-4-5".parse().unwrap();
        assert_eq!(m.provider(), Some(Provider::Anthropic));
        assert_eq!(m.to_string(), "anthropic/claude-sonnet-4-5");
        let g: ModelRef = "google/models/gemini-2.5-flash".parse().unwrap();
        assert_eq!(g.to_string(), "google/models/gemini-2.5-flash");
        let ft: ModelRef = "openai/ft:gpt-4o-mini:org::abc".parse().unwrap();
        assert_eq!(ft.provider(), Some(Provider::OpenAi));
        let p: ModelRef = "policy/main-chain_2".parse().unwrap();
        assert_eq!(p.policy_name(), Some("main-chain_2"));
    }

    #[test]
    fn rejects_malformed_ids_naming_the_param() {
        for bad in [
            "",
            "has space",
            "mistral/large",
            "openai/",
            "openai//x",
            "openai/x/",
            "openai/has space",
            "openai/ümlaut",
            &format!("openai/{}", "a".repeat(MAX_MODEL_LEN + 1)),
            "policy/",
            "policy/Upper",
            "policy/-lead",
            "policy/a/b",
            &format!("policy/{}", "a".repeat(MAX_NAME_LEN + 1)),
        ] {
            let err = ModelRef::parse_as(bad, "steps[1].model").unwrap_err();
            assert_eq!(err.param.as_deref(), Some("steps[1].model"), "{bad:?}");
            assert!(err.message.contains("steps[1].model"), "{}", err.message);
        }
        let err = ModelRef::parse_as("mistral/large", "m").unwrap_err();
        assert!(err.message.contains("unknown provider"), "{}", err.message);
        assert!(ModelRef::parse_as(&format!("openai/{}", "a".repeat(128)), "m").is_ok());
    }

    #[test]
    fn bare_names_resolve_to_their_provider() {
        for (bare, full) in [
            (
                "claude-sonnet-4-5-20250929",
                "anthropic/claude-sonnet-4-5-20250929",
            ),
            ("claude-haiku-4-5", "anthropic/claude-haiku-4-5"),
            ("gpt-4.1", "openai/gpt-4.1"),
            ("o3", "openai/o3"),
            ("gemini-2.5-pro", "google/gemini-2.5-pro"),
            ("grok-4", "xai/grok-4"),
        ] {
            let m = ModelRef::parse_as(bare, "model").unwrap();
            assert_eq!(m.to_string(), full);
            assert_eq!(m, ModelRef::parse_as(full, "model").unwrap());
        }
        let err = ModelRef::parse_as("llama-3.1-70b", "model").unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert_eq!(err.param.as_deref(), Some("model"));
        assert!(err.message.contains("llama-3.1-70b"), "{}", err.message);
        let err = ModelRef::parse_as("a b", "model").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidRequest);
    }

    #[test]
    fn policy_names_are_url_safe() {
        for good in ["a", "0", "fallback-1", "x_y", &"a".repeat(64)] {
            assert!(validate_policy_name(good, "name").is_ok(), "{good}");
        }
        for bad in [
            "",
            "_a",
            "-a",
            "A",
            "a b",
            "a/b",
            "a%2f",
            "a.b",
            &"a".repeat(65),
        ] {
            let err = validate_policy_name(bad, "name").unwrap_err();
            assert_eq!(err.param.as_deref(), Some("name"));
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let m: ModelRef = serde_json::from_str("\"xai/grok-4\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"xai/grok-4\"");
        assert!(serde_json::from_str::<ModelRef>("\"nope\"").is_err());
        let bare: ModelRef = serde_json::from_str("\"grok-4\"").unwrap();
        assert_eq!(serde_json::to_string(&bare).unwrap(), "\"xai/grok-4\"");
    }
}
