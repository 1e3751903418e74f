//! `usage.cost` (USD; `null` when the price is unknown) in what the client receives: a whole answer's
//! body, or a stream's usage event. One place, so both carry it the same way.

use byok_shared::providers::AnswerBody;
use serde_json::Value;

/// Set `usage.cost` in a whole answer, when it has a `usage` object (of a passed answer, the one field
/// parsed and written anew).
pub fn put_answer(body: &mut AnswerBody, cost: Option<f64>) {
    match body {
        AnswerBody::Built(tree) => put(tree, cost),
        AnswerBody::Passed(_) => {
            if let Some(Value::Object(usage)) = body.field_mut("usage") {
                usage.insert("cost".into(), cost.map_or(Value::Null, Value::from));
            }
        }
    }
}

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
