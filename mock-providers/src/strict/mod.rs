//! Request validation as strict as the real APIs where clients depend on it: unknown fields refused, beta
//! fields refused unless their beta is named in `anthropic-beta`, roles validated, tool results checked
//! against the tool calls before them. A refusal is the provider's real 400 body, so a gateway bug that a
//! lenient mock would hide fails a test exactly as it would fail a user.
//!
//! Each check returns `Err(Refusal)`; the server answers it with status 400 and the body as is.

pub mod anthropic;
pub mod google;
pub mod limits;
pub mod openai;
pub mod responses;

use serde_json::{Map, Value};

/// A request the real API would refuse: its status and error body.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub body: Value,
}

pub(crate) type Checked = Result<(), Refusal>;

/// The first key of `obj` not in `allowed`.
pub(crate) fn unknown_key<'a>(obj: &'a Map<String, Value>, allowed: &[&str]) -> Option<&'a str> {
    obj.keys()
        .map(String::as_str)
        .find(|k| !allowed.contains(k))
}

pub(crate) fn type_of(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}
