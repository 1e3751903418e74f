//! Domain types and rules. Nothing here knows HTTP, Lambda or AWS.

pub mod apikey;
pub mod ids;
pub mod key_scope;
pub mod org;
pub mod permissions;
pub mod policy;
pub mod price;
pub mod provider;
pub mod provider_key;
pub mod rate_limit;
pub mod usage;
