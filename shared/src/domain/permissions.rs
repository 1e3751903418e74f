//! What a gateway API key may do.

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Default,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Manage {
    #[default]
    None,
    Read,
    Write,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Default,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Completions {
    #[default]
    None,
    Write,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    #[serde(default)]
    pub manage: Manage,
    #[serde(default)]
    pub completions: Completions,
}

impl Permissions {
    pub const ADMIN: Permissions = Permissions {
        manage: Manage::Write,
        completions: Completions::Write,
    };

    /// True when every permission of `other` is within this one (no escalation).
    pub fn covers(&self, other: &Permissions) -> bool {
        self.manage >= other.manage && self.completions >= other.completions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_is_componentwise() {
        let read = Permissions {
            manage: Manage::Read,
            completions: Completions::Write,
        };
        assert!(Permissions::ADMIN.covers(&read));
        assert!(!read.covers(&Permissions::ADMIN));
        assert!(read.covers(&Permissions::default()));
        let manage_only = Permissions {
            manage: Manage::Write,
            completions: Completions::None,
        };
        assert!(!manage_only.covers(&read));
    }
}
