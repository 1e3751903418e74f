use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub org_id: String,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Auto caching for requests whose key and request do not say; `None`: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_cache: Option<bool>,
    /// Whether the org may use the operator's platform keys; `None` follows the operator's configured
    /// default (`BYOK_PLATFORM_KEYS_DEFAULT`).
    #[serde(default)]
    pub platform_keys: Option<bool>,
    /// USD per calendar month (UTC) the org may spend through platform keys; 0 means no limit of its own.
    #[serde(default)]
    pub platform_limit: f64,
}

/// What an org may do with the operator's platform keys, resolved against the configured default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlatformEntitlement {
    pub enabled: bool,
    /// USD per month; 0 means unlimited.
    pub monthly_limit: f64,
}

impl Org {
    pub fn platform_entitlement(&self, default_enabled: bool) -> PlatformEntitlement {
        PlatformEntitlement {
            enabled: self.platform_keys.unwrap_or(default_enabled),
            monthly_limit: self.platform_limit,
        }
    }
}

pub fn validate_org_name(name: &str) -> crate::Result<()> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.len() > 128 || trimmed.chars().any(char::is_control) {
        return Err(crate::Error::invalid(
            "name",
            "name must be 1-128 printable characters",
        ));
    }
    Ok(())
}

/// A platform-spend limit in USD: finite, not negative, at most a million (0 = no limit).
pub fn validate_platform_limit(limit: f64) -> crate::Result<()> {
    if !limit.is_finite() || !(0.0..=1_000_000.0).contains(&limit) {
        return Err(crate::Error::invalid(
            "platform_limit",
            "the platform limit must be a number of USD from 0 (no limit) to 1000000",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(platform_keys: Option<bool>) -> Org {
        Org {
            org_id: "org_1".into(),
            name: "a".into(),
            created_at: chrono::Utc::now(),
            platform_keys,
            platform_limit: 5.0,
            auto_cache: None,
        }
    }

    #[test]
    fn an_unset_entitlement_follows_the_default_and_a_set_one_overrides_it() {
        assert!(org(None).platform_entitlement(true).enabled);
        assert!(!org(None).platform_entitlement(false).enabled);
        assert!(org(Some(true)).platform_entitlement(false).enabled);
        assert!(!org(Some(false)).platform_entitlement(true).enabled);
        assert_eq!(org(None).platform_entitlement(true).monthly_limit, 5.0);
    }

    #[test]
    fn records_written_before_the_entitlement_read_as_unset() {
        let old =
            serde_json::json!({"org_id": "o", "name": "n", "created_at": "2026-01-01T00:00:00Z"});
        let org: Org = serde_json::from_value(old).unwrap();
        assert_eq!(org.platform_keys, None);
        assert_eq!(org.platform_limit, 0.0);
    }

    #[test]
    fn platform_limits_are_bounded() {
        assert!(validate_platform_limit(0.0).is_ok());
        assert!(validate_platform_limit(-1.0).is_err());
        assert!(validate_platform_limit(f64::NAN).is_err());
        assert!(validate_platform_limit(1e9).is_err());
    }
}
