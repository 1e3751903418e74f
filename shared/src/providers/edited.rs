//! A request body as it goes upstream: the caller's own JSON object with a few top-level fields set or
//! removed (`model`, `stream`, `stream_options`, `reasoning_effort`...), serialised straight from the
//! caller's body. A same-format passthrough used to deep-copy the whole body (every message, tool and
//! schema: an allocation per string) for each attempt, only to change one or two fields of it.
//!
//! A change below the top level (Anthropic's automatic cache breakpoints) takes [`Edited::value_mut`],
//! which copies the body then, and only then.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// A body and its top-level edits (`None`: removed), applied when serialised.
#[derive(Debug, Clone)]
pub struct Edited<'a> {
    base: Cow<'a, Value>,
    edits: Vec<(&'static str, Option<Value>)>,
}

impl<'a> Edited<'a> {
    /// The caller's body, borrowed.
    pub fn of(base: &'a Value) -> Self {
        Self {
            base: Cow::Borrowed(base),
            edits: Vec::new(),
        }
    }

    /// A body built here (a translation).
    pub fn owned(base: Value) -> Edited<'static> {
        Edited {
            base: Cow::Owned(base),
            edits: Vec::new(),
        }
    }

    fn edit(&self, field: &str) -> Option<&Option<Value>> {
        self.edits.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
    }

    /// The body as the caller sent it (or as translated), without the top-level edits.
    pub fn unedited(&self) -> &Value {
        &self.base
    }

    /// The field as it will be sent.
    pub fn get(&self, field: &str) -> Option<&Value> {
        match self.edit(field) {
            Some(edited) => edited.as_ref(),
            None => self.base.get(field),
        }
    }

    fn put(&mut self, field: &'static str, value: Option<Value>) {
        if !self.base.is_object() {
            return;
        }
        match self.edits.iter_mut().find(|(f, _)| *f == field) {
            Some((_, v)) => *v = value,
            None => self.edits.push((field, value)),
        }
    }

    /// Send `field` as `value` (a body that is not an object is sent as it is).
    pub fn set(&mut self, field: &'static str, value: impl Into<Value>) {
        self.put(field, Some(value.into()));
    }

    /// Send the body without `field`.
    pub fn remove(&mut self, field: &'static str) {
        self.put(field, None);
    }

    /// The whole body to change below the top level: copied now if borrowed, with the edits applied.
    pub fn value_mut(&mut self) -> &mut Value {
        let body = self.base.to_mut();
        if let Some(obj) = body.as_object_mut() {
            for (field, value) in self.edits.drain(..) {
                match value {
                    Some(v) => obj.insert(field.to_owned(), v),
                    None => obj.remove(field),
                };
            }
        }
        body
    }
}

impl Serialize for Edited<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(obj) = self.base.as_object() else {
            return self.base.serialize(serializer);
        };
        let mut map = serializer.serialize_map(None)?;
        for (field, value) in obj {
            match self.edit(field) {
                None => map.serialize_entry(field, value)?,
                Some(Some(edited)) => map.serialize_entry(field, edited)?,
                Some(None) => {}
            }
        }
        for (field, value) in &self.edits {
            if let (Some(v), false) = (value, obj.contains_key(*field)) {
                map.serialize_entry(field, v)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sent(e: &Edited<'_>) -> Value {
        serde_json::from_slice(&serde_json::to_vec(e).unwrap()).unwrap()
    }

    #[test]
    fn sends_the_body_with_its_edits_and_leaves_the_callers_body_alone() {
        let body = json!({"model": "policy/p", "messages": [{"role": "user", "content": "hi"}], "stop": ["x"], "stream": false});
        let mut e = Edited::of(&body);
        e.set("model", "gpt-4o");
        e.set("stream", true);
        e.set("stream_options", json!({"include_usage": true}));
        e.remove("stop");
        e.remove("absent");
        e.set("model", "gpt-4o-mini");
        assert_eq!(e.get("model"), Some(&json!("gpt-4o-mini")));
        assert_eq!(e.get("stop"), None);
        assert_eq!(e.get("messages"), body.get("messages"));
        let expected = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": true, "stream_options": {"include_usage": true}});
        assert_eq!(sent(&e), expected);
        // The serialised text names each field once.
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(text.matches("\"model\"").count(), 1);
        assert_eq!(text.matches("\"stream\"").count(), 1);
        assert_eq!(body["model"], "policy/p");
        assert_eq!(e.unedited(), &body);
        // A deep change sees the same body.
        let mut deep = e.clone();
        deep.value_mut()["messages"][0]["content"] = json!("changed");
        let mut changed = expected.clone();
        changed["messages"][0]["content"] = json!("changed");
        assert_eq!(sent(&deep), changed);
        assert_eq!(sent(&e), expected);
    }

    #[test]
    fn a_body_that_is_not_an_object_goes_as_it_is() {
        let body = json!([1, 2]);
        let mut e = Edited::of(&body);
        e.set("model", "m");
        assert_eq!(sent(&e), body);
        assert_eq!(e.get("model"), None);
    }
}
