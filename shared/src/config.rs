//! Configuration, read once from the environment at start. Invalid values fail fast naming the variable.

use std::path::PathBuf;
use std::time::Duration;

use crate::domain::provider::Provider;
use crate::tls::RootsSource;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite store and local AES-GCM cipher under `data_dir`.
    Local { data_dir: PathBuf },
    /// DynamoDB table and KMS key (standard AWS environment, e.g. `AWS_ENDPOINT_URL`, is respected).
    Aws { table: String, kms_key_id: String },
}

/// Provider base URLs: operator configuration, never taken from a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUrls {
    pub openai: String,
    pub anthropic: String,
    pub google: String,
    pub xai: String,
}

impl ProviderUrls {
    pub fn get(&self, provider: Provider) -> &str {
        match provider {
            Provider::OpenAi => &self.openai,
            Provider::Anthropic => &self.anthropic,
            Provider::Google => &self.google,
            Provider::Xai => &self.xai,
        }
    }
}

impl Default for ProviderUrls {
    fn default() -> Self {
        Self {
            openai: "https://api.openai.com".into(),
            anthropic: "https://api.anthropic.com".into(),
            google: "https://generativelanguage.googleapis.com".into(),
            xai: "https://api.x.ai".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub backend: Backend,
    pub providers: ProviderUrls,
    /// How long an authenticated key, a policy or a decrypted provider key may be served from memory.
    pub cache_ttl: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Deadline of one DynamoDB or KMS operation, retries included, so that a hung or unreachable store
    /// or KMS gives a 503 in seconds instead of holding the request until the function's own timeout.
    pub aws_timeout: Duration,
    /// Longest a streamed answer may run before the gateway ends it with an error event.
    pub max_stream: Duration,
    /// Usage writes run behind the response instead of inside it: only for a long-lived process (`byok
    /// serve`), never in Lambda, which may freeze right after a response. See the router's `usage_writes`.
    pub usage_behind_response: bool,
    /// Most provider calls one request may make, retries and fallbacks included.
    pub max_attempts: u32,
    /// Total deadline of a direct `<provider>/<model>` request (a policy sets its own `deadline_ms`).
    pub direct_deadline: Duration,
    /// Whether an org whose own setting is unset may use the operator's platform keys
    /// (`BYOK_PLATFORM_KEYS_DEFAULT` = `on` | `off`, default `off`). `byok org create --platform-keys` and
    /// `byok org set` decide per org.
    pub platform_keys_default: bool,
    /// Hard spend limits: see [`SpendConfig`].
    pub spend: SpendConfig,
    /// How long a request log record is kept (the store's TTL) (`BYOK_LOG_RETENTION_DAYS`).
    pub log_retention: Duration,
    /// Whether requests are written to the request log (`BYOK_REQUEST_LOG` = `on` | `off`, default `on`).
    pub request_log: bool,
    /// The CA roots of the HTTPS clients (`BYOK_TLS_ROOTS`; see [`RootsSource::from_lookup`]).
    pub tls_roots: RootsSource,
}

/// How spend limits reserve (README "Spend limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpendConfig {
    /// Output tokens reserved for a request without `max_tokens` (`BYOK_SPEND_OUTPUT_TOKENS`).
    pub default_output_tokens: u64,
    /// Largest slice of a budget one instance leases, in nano-dollars (`BYOK_SPEND_LEASE_MICROS`, in
    /// micro-dollars).
    pub lease_cap_nanos: i64,
    /// How long an instance keeps a lease before returning what it did not spend (`BYOK_SPEND_LEASE_MS`).
    pub lease_ttl: Duration,
}

impl Default for SpendConfig {
    fn default() -> Self {
        Self {
            default_output_tokens: 4096,
            lease_cap_nanos: 250_000_000,
            lease_ttl: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
pub const DEFAULT_AWS_TIMEOUT: Duration = Duration::from_secs(5);
/// API Gateway's own limit on a streamed response.
pub const DEFAULT_MAX_STREAM: Duration = Duration::from_secs(900);
/// Default cap on provider calls per request: the longest policy route could otherwise fan out into
/// hundreds of calls (64 attempts × 11 tries).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// Default total deadline of a direct request: three tries of a slow provider, with backoff.
pub const DEFAULT_DIRECT_DEADLINE: Duration = Duration::from_secs(300);

impl Config {
    /// A local configuration rooted at `data_dir`, with provider URLs and tuning from the environment.
    pub fn local(data_dir: PathBuf) -> Result<Self, ConfigError> {
        Self::with_backend(Backend::Local { data_dir }, &|k| std::env::var(k).ok())
    }

    /// The whole configuration from the environment (`BYOK_BACKEND` = `aws` | `local`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let backend = match env("BYOK_BACKEND").as_deref().unwrap_or("aws") {
            "aws" => Backend::Aws {
                table: required(env, "BYOK_TABLE")?,
                kms_key_id: required(env, "BYOK_KMS_KEY_ID")?,
            },
            "local" => Backend::Local {
                data_dir: env("BYOK_DATA_DIR")
                    .unwrap_or_else(|| ".byok-data".into())
                    .into(),
            },
            other => {
                return Err(ConfigError {
                    variable: "BYOK_BACKEND",
                    reason: format!("{other:?} is not aws or local"),
                });
            }
        };
        Self::with_backend(backend, env)
    }

    fn with_backend(
        backend: Backend,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let defaults = ProviderUrls::default();
        let providers = ProviderUrls {
            openai: url(env, "BYOK_OPENAI_BASE_URL", defaults.openai)?,
            anthropic: url(env, "BYOK_ANTHROPIC_BASE_URL", defaults.anthropic)?,
            google: url(env, "BYOK_GOOGLE_BASE_URL", defaults.google)?,
            xai: url(env, "BYOK_XAI_BASE_URL", defaults.xai)?,
        };
        let cache_ttl = match env("BYOK_CACHE_TTL_MS") {
            None => DEFAULT_CACHE_TTL,
            Some(v) => Duration::from_millis(number(&v, "BYOK_CACHE_TTL_MS", 0, 3_600_000)?),
        };
        let max_body_bytes = match env("BYOK_MAX_BODY_BYTES") {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(v) => number(&v, "BYOK_MAX_BODY_BYTES", 1024, 64 * 1024 * 1024)? as usize,
        };
        let aws_timeout = match env("BYOK_AWS_TIMEOUT_MS") {
            None => DEFAULT_AWS_TIMEOUT,
            Some(v) => Duration::from_millis(number(&v, "BYOK_AWS_TIMEOUT_MS", 100, 120_000)?),
        };
        let max_stream = match env("BYOK_MAX_STREAM_SECS") {
            None => DEFAULT_MAX_STREAM,
            Some(v) => Duration::from_secs(number(&v, "BYOK_MAX_STREAM_SECS", 1, 3600)?),
        };
        let max_attempts = match env("BYOK_MAX_ATTEMPTS") {
            None => DEFAULT_MAX_ATTEMPTS,
            Some(v) => number(&v, "BYOK_MAX_ATTEMPTS", 1, 64)? as u32,
        };
        let direct_deadline = match env("BYOK_DIRECT_DEADLINE_MS") {
            None => DEFAULT_DIRECT_DEADLINE,
            Some(v) => Duration::from_millis(number(&v, "BYOK_DIRECT_DEADLINE_MS", 1000, 900_000)?),
        };
        let platform_keys_default = on_off(env, "BYOK_PLATFORM_KEYS_DEFAULT", false)?;
        let request_log = on_off(env, "BYOK_REQUEST_LOG", true)?;
        let tls_roots = RootsSource::from_lookup(env).map_err(|reason| ConfigError {
            variable: "BYOK_TLS_ROOTS",
            reason,
        })?;
        let defaults = SpendConfig::default();
        let spend = SpendConfig {
            default_output_tokens: match env("BYOK_SPEND_OUTPUT_TOKENS") {
                None => defaults.default_output_tokens,
                Some(v) => number(&v, "BYOK_SPEND_OUTPUT_TOKENS", 1, 10_000_000)?,
            },
            lease_cap_nanos: match env("BYOK_SPEND_LEASE_MICROS") {
                None => defaults.lease_cap_nanos,
                Some(v) => number(&v, "BYOK_SPEND_LEASE_MICROS", 0, 1_000_000_000)? as i64 * 1000,
            },
            lease_ttl: match env("BYOK_SPEND_LEASE_MS") {
                None => defaults.lease_ttl,
                Some(v) => Duration::from_millis(number(&v, "BYOK_SPEND_LEASE_MS", 0, 3_600_000)?),
            },
        };
        let log_retention_days = match env("BYOK_LOG_RETENTION_DAYS") {
            None => u64::from(crate::domain::request_log::DEFAULT_RETENTION_DAYS),
            Some(v) => number(&v, "BYOK_LOG_RETENTION_DAYS", 1, 3650)?,
        };
        Ok(Self {
            backend,
            providers,
            cache_ttl,
            max_body_bytes,
            aws_timeout,
            max_stream,
            usage_behind_response: false,
            max_attempts,
            direct_deadline,
            platform_keys_default,
            request_log,
            tls_roots,
            spend,
            log_retention: Duration::from_secs(log_retention_days * 86_400),
        })
    }

    /// The AWS SDK timeouts for DynamoDB and KMS clients: the whole operation within `aws_timeout`, each
    /// attempt within half of it (so a hung connection still leaves time for one retry). The SDK's own
    /// default has no operation or read timeout: a store that accepts connections but never answers would
    /// hold every request until Lambda kills it.
    pub fn aws_timeouts(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.aws_timeout / 2)
            .operation_attempt_timeout(self.aws_timeout / 2)
            .operation_timeout(self.aws_timeout)
            .build()
    }
}

fn required(
    env: &dyn Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<String, ConfigError> {
    env(variable)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError {
            variable,
            reason: "must be set".into(),
        })
}

fn url(
    env: &dyn Fn(&str) -> Option<String>,
    variable: &'static str,
    default: String,
) -> Result<String, ConfigError> {
    let value = env(variable).unwrap_or(default);
    let parsed = reqwest::Url::parse(&value).map_err(|e| ConfigError {
        variable,
        reason: format!("not a URL: {e}"),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ConfigError {
            variable,
            reason: "must be an http(s) URL with a host".into(),
        });
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// An `on` | `off` variable, `default` when unset.
fn on_off(
    env: &dyn Fn(&str) -> Option<String>,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match env(variable).as_deref().map(str::trim) {
        None => Ok(default),
        Some("on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(ConfigError {
            variable,
            reason: format!("{other:?} is not on or off"),
        }),
    }
}

fn number(value: &str, variable: &'static str, min: u64, max: u64) -> Result<u64, ConfigError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| ConfigError {
            variable,
            reason: format!("must be a whole number from {min} to {max}"),
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn aws_backend_needs_a_table() {
        let err = config(&[]).unwrap_err();
        assert_eq!(err.variable, "BYOK_TABLE");
        let ok = config(&[("BYOK_TABLE", "t"), ("BYOK_KMS_KEY_ID", "k")]).unwrap();
        assert_eq!(
            ok.backend,
            Backend::Aws {
                table: "t".into(),
                kms_key_id: "k".into()
            }
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = config(&[
            ("BYOK_BACKEND", "local"),
            ("BYOK_OPENAI_BASE_URL", "ftp://x"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "BYOK_OPENAI_BASE_URL");
        let err = config(&[("BYOK_BACKEND", "local"), ("BYOK_CACHE_TTL_MS", "-1")]).unwrap_err();
        assert_eq!(err.variable, "BYOK_CACHE_TTL_MS");
        let err = config(&[("BYOK_BACKEND", "local"), ("BYOK_AWS_TIMEOUT_MS", "5")]).unwrap_err();
        assert_eq!(err.variable, "BYOK_AWS_TIMEOUT_MS");
        let err =
            config(&[("BYOK_BACKEND", "local"), ("BYOK_LOG_RETENTION_DAYS", "0")]).unwrap_err();
        assert_eq!(err.variable, "BYOK_LOG_RETENTION_DAYS");
        let days = config(&[("BYOK_BACKEND", "local"), ("BYOK_LOG_RETENTION_DAYS", "7")]).unwrap();
        assert_eq!(days.log_retention, Duration::from_secs(7 * 86_400));
        let err = config(&[("BYOK_BACKEND", "mars")]).unwrap_err();
        assert_eq!(err.variable, "BYOK_BACKEND");
        let err = config(&[
            ("BYOK_BACKEND", "local"),
            ("BYOK_PLATFORM_KEYS_DEFAULT", "yes"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "BYOK_PLATFORM_KEYS_DEFAULT");
        let err = config(&[("BYOK_BACKEND", "local"), ("BYOK_TLS_ROOTS", "system")]).unwrap_err();
        assert_eq!(err.variable, "BYOK_TLS_ROOTS");
    }

    #[test]
    fn the_request_log_is_on_unless_switched_off() {
        assert!(config(&[("BYOK_BACKEND", "local")]).unwrap().request_log);
        let off = config(&[("BYOK_BACKEND", "local"), ("BYOK_REQUEST_LOG", "off")]).unwrap();
        assert!(!off.request_log);
        let err = config(&[("BYOK_BACKEND", "local"), ("BYOK_REQUEST_LOG", "false")]).unwrap_err();
        assert_eq!(err.variable, "BYOK_REQUEST_LOG");
    }

    #[test]
    fn platform_keys_are_off_unless_the_operator_turns_them_on() {
        let off = config(&[("BYOK_BACKEND", "local")]).unwrap();
        assert!(!off.platform_keys_default);
        let on = config(&[
            ("BYOK_BACKEND", "local"),
            ("BYOK_PLATFORM_KEYS_DEFAULT", "on"),
        ])
        .unwrap();
        assert!(on.platform_keys_default);
    }

    #[test]
    fn provider_urls_come_from_config_only() {
        let c = config(&[
            ("BYOK_BACKEND", "local"),
            ("BYOK_XAI_BASE_URL", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(c.providers.get(Provider::Xai), "http://127.0.0.1:9");
        assert_eq!(c.providers.get(Provider::OpenAi), "https://api.openai.com");
    }
}
