use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    pub org_id: String,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
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
