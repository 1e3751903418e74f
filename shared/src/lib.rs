//! The BYOK gateway's library: domain types and rules, the store and cipher ports with their adapters,
//! provider adapters, the routing engine, and the HTTP translation every function shares.

pub mod app;
pub mod auth;
pub mod aws_sdk;
pub mod cache;
pub mod catalogue;
pub mod cipher;
pub mod colocated;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod providers;
pub mod repo;
pub mod routing;
pub mod secret;
pub mod store;
pub mod telemetry;
pub mod tls;

pub use app::AppState;
pub use error::{Error, ErrorKind, Result};
pub use secret::Secret;
