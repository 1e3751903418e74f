//! Rules for a provider key as submitted.

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Longest accepted provider key (real keys are well under 256 characters).
pub const MAX_KEY_LEN: usize = 512;

pub fn validate_key(key: &Secret) -> Result<()> {
    let value = key.expose();
    if value.trim().is_empty() {
        return Err(Error::invalid("api_key", "api_key must not be empty"));
    }
    if value.len() > MAX_KEY_LEN {
        return Err(Error::invalid(
            "api_key",
            format!("api_key must be at most {MAX_KEY_LEN} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "api_key",
            "api_key must not contain white space or control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_keys_naming_the_field() {
        for bad in [
            "",
            "   ",
            "sk-a\nb",
            "sk-\u{7}",
            &"x".repeat(MAX_KEY_LEN + 1),
        ] {
            let err = validate_key(&Secret::new(bad)).unwrap_err();
            assert_eq!(err.param.as_deref(), Some("api_key"), "{bad:?}");
            assert!(!err.message.contains(bad) || bad.trim().is_empty());
        }
        assert!(validate_key(&Secret::new("sk-proj-abc123")).is_ok());
    }
}
