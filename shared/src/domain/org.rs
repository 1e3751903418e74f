use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub org_id: String,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Auto caching for requests whose key and request do not say; `None`: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_cache: Option<bool>,
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
