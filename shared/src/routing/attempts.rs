//! The record of every attempt a request made, returned to the client in the `x-byok-attempts` header.

use std::fmt::Write;

use crate::domain::policy::KeyKind;

pub const HEADER: &str = "x-byok-attempts";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// `<provider>/<model>`.
    pub model: String,
    pub key: KeyKind,
    /// `ok`, `timeout`, `connect_error`, `http_<status>`, `stream_error`, or `skipped_<reason>`.
    pub outcome: String,
    pub ms: u64,
}

/// `model=openai/gpt-4.1-mini;key=own;outcome=http_500;ms=12, model=...` — ASCII only, no secrets.
pub fn header_value(attempts: &[Attempt]) -> String {
    // One allocation: the model's kept characters go straight into the value.
    let mut out = String::with_capacity(attempts.len() * 80);
    for (i, a) in attempts.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str("model=");
        out.extend(
            a.model
                .chars()
                .filter(|c| c.is_ascii_graphic() && *c != ',' && *c != ';'),
        );
        let _ = write!(out, ";key={};outcome={};ms={}", a.key, a.outcome, a.ms);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lists_every_attempt() {
        let attempts = [
            Attempt {
                model: "openai/gpt-4.1".into(),
                key: KeyKind::Own,
                outcome: "http_500".into(),
                ms: 12,
            },
            Attempt {
                model: "anthropic/claude;x,y".into(),
                key: KeyKind::Platform,
                outcome: "ok".into(),
                ms: 40,
            },
        ];
        assert_eq!(
            header_value(&attempts),
            "model=openai/gpt-4.1;key=own;outcome=http_500;ms=12, model=anthropic/claudexy;key=platform;outcome=ok;ms=40"
        );
    }
}
