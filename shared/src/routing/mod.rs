//! The routing engine: runs a flattened policy route against the providers with per-step retries
//! (exponential backoff with jitter, `Retry-After` honoured), per-attempt timeouts, a total deadline and a
//! cap on provider calls, key sources (own / platform, in the step's order), per-tenant cooldown of failing
//! targets, and a commit guard for streams (nothing is committed to the client before the first content
//! event). It sees no HTTP, store or cipher: see [`engine::Context`].

pub mod attempts;
pub mod classify;
pub mod cooldown;
pub mod engine;
pub mod retry;

pub use attempts::Attempt;
pub use engine::{Answer, Context, Failed, KeyRing, Served, Withheld, Work, execute};
