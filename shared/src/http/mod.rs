//! HTTP translation, in one place: error JSON and status codes, authentication and JSON extractors, and the
//! common layers every function's router gets.

mod access_line;
mod error;
mod extract;
mod layers;
mod list;
pub mod openapi;
mod raw_body;
pub mod routes;

pub use error::{ErrorShape, anthropic_error_body, error_body};
pub use extract::{Auth, JsonBody, QueryParams};
pub use layers::{AccessNote, RequestId, finish};
pub use list::List;
