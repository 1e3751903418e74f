//! The routing engine: runs a flattened policy route against the providers with per-step retries
//! (exponential backoff with jitter, `Retry-After` honoured), per-attempt timeouts and a total deadline,
//! key sources (own / platform, in the step's order), cooldown of failing targets, and a commit guard for
//! streams (nothing is committed to the client before the first content event).

pub mod attempts;
pub mod cooldown;
pub mod engine;
pub mod keys;
pub mod last_used;
pub mod policies;
pub mod retry;
pub mod spend;
pub mod sse;
pub mod usage_writes;

pub use attempts::Attempt;
pub use engine::{Answer, Failed, Served, Work, execute};
