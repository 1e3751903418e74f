//! The router's hot-path caches: what a warm request needs before the provider call (the org's policies,
//! its decrypted provider keys, the org's platform-key entitlement, the operator's prices) served from memory
//! for the cache TTL, the leases on spend budgets (`spend`), and the throttle of last-used writes. They live
//! in the router alone; the local server connects them to the management functions' changes (see
//! `byok_shared::colocated`).

pub mod entitlement;
pub mod keys;
pub mod last_used;
pub mod orgs;
pub mod policies;
pub mod prices;
pub mod spend;
