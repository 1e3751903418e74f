//! The `{name}` path segment.

use byok_shared::Result;
use byok_shared::domain::policy::validate_policy_name;
use byok_shared::error::Error;

/// A name that cannot be a policy's cannot name a stored one: 404 without a store lookup.
pub fn name(raw: &str) -> Result<&str> {
    validate_policy_name(raw, "name")
        .map(|()| raw)
        .map_err(|_| Error::not_found(format!("no policy named '{}'", raw.escape_debug())))
}
