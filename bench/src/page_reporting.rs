//! Whether the machine hands freed memory back to its host (virtio-balloon free page reporting), and how
//! much it handed back during a run.
//!
//! On such a VM, memory the guest frees goes back to the host, and the host has to back it again the next
//! time the guest writes it. A gateway whose request log and access log grow into that memory pays for it
//! on every new page. Over a long run that added about 5 µs per request (README, "fourteenth session"). A
//! bench run of 20,000 requests per target stayed within freed memory still backed. The report names
//! the amount, so that a run that did not stay within it can be recognised.

use serde_json::{Value, json};

const PARAMETERS: &str = "/sys/module/page_reporting/parameters";

/// The reporting's settings and its running total (`null` on a machine without it).
pub fn state() -> Value {
    let read = |name: &str| -> Option<i64> {
        std::fs::read_to_string(format!("{PARAMETERS}/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    match read("reported_kib") {
        None => Value::Null,
        Some(reported_kib) => json!({
            "reported_kib": reported_kib,
            "order": read("page_reporting_order"),
            "min_free_ms": read("min_free_ms"),
        }),
    }
}

/// What the report says of it: the memory handed back between `before` and `after`, and the settings.
pub fn note(before: &Value, after: &Value) -> Option<String> {
    let kib = |v: &Value| v["reported_kib"].as_i64();
    // A total that went down (the module reloaded) says nothing about the run.
    let handed_back = kib(after)?
        .checked_sub(kib(before)?)
        .filter(|kib| *kib >= 0)?;
    let setting = |name: &str| {
        before[name]
            .as_i64()
            .map_or_else(|| "?".to_owned(), |v| v.to_string())
    };
    Some(format!(
        "free page reporting on (order {}, min_free_ms {}): {:.0} MB handed back to the host during the run",
        setting("order"),
        setting("min_free_ms"),
        handed_back as f64 / 1024.0
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_gives_what_was_handed_back_and_the_settings() {
        let before = json!({"reported_kib": 1_000_000, "order": 9, "min_free_ms": 0});
        let after = json!({"reported_kib": 1_512_000, "order": 9, "min_free_ms": 0});
        assert_eq!(
            note(&before, &after).as_deref(),
            Some(
                "free page reporting on (order 9, min_free_ms 0): 500 MB handed back to the host during the run"
            )
        );
    }

    #[test]
    fn no_note_without_reporting_or_with_a_total_that_went_back() {
        assert_eq!(note(&Value::Null, &Value::Null), None);
        let before = json!({"reported_kib": 10});
        assert_eq!(note(&before, &Value::Null), None);
        assert_eq!(note(&before, &json!({"reported_kib": 5})), None);
    }
}
