//! `usage.cost` (USD; `null` when the price is unknown) in what the client receives: a whole answer's
//! body, or a stream's usage event. One place, so both carry it the same way.

use serde_json::Value;

/// Set `usage.cost` in `body`, when it has a `usage` object (or, in a Responses stream's final event, a
/// `response.usage` object).
pub fn put(body: &mut Value, cost: Option<f64>) {
    let usage = match body.get("usage") {
        Some(Value::Object(_)) => body.get_mut("usage"),
        _ => body.pointer_mut("/response/usage"),
    };
    if let Some(usage) = usage.and_then(Value::as_object_mut) {
        usage.insert("cost".into(), cost.map_or(Value::Null, Value::from));
    }
}
