//! Scanning text (logs, response bodies, raw store dumps) for provider key material: the exact keys a test
//! used, and anything shaped like a provider key (`sk-`, `sk-ant-`, `AIza`, `xai-` followed by key
//! characters, at a word start so that e.g. `task-runner` is not a finding).

/// Key prefixes of the four providers (`sk-` covers OpenAI's `sk-proj-` and Anthropic's `sk-ant-`).
pub const PREFIXES: [&str; 4] = ["sk-ant-", "sk-", "AIza", "xai-"];

/// Characters after a prefix needed to count as key material.
pub const MIN_TAIL: usize = 8;

fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Every finding in `text`: a known secret (anywhere, exactly) or a prefix at a word start followed by at
/// least `MIN_TAIL` key characters. Each finding is reported with a little context and the secret masked.
pub fn scan(text: &str, known: &[&str]) -> Vec<String> {
    let mut findings = Vec::new();
    for secret in known {
        for (at, _) in text.match_indices(secret) {
            findings.push(format!("known key at byte {at}: {}", context(text, at)));
        }
    }
    for prefix in PREFIXES {
        for (at, _) in text.match_indices(prefix) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric()) {
                continue;
            }
            let tail = text[at + prefix.len()..]
                .chars()
                .take_while(|c| key_char(*c))
                .count();
            if tail >= MIN_TAIL {
                findings.push(format!(
                    "{prefix}… material at byte {at}: {}",
                    context(text, at)
                ));
            }
        }
    }
    findings
}

/// Up to 40 characters before a finding, and its first 6 characters (never the whole secret).
fn context(text: &str, at: usize) -> String {
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(39)
        .map_or(0, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .nth(6)
        .map_or(text.len(), |(i, _)| at + i);
    format!("{:?}", format!("{}{}…", &text[start..at], &text[at..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_planted_keys_and_key_shapes_but_not_words() {
        let known = "sk-ant-test-0123456789abcdef";
        assert_eq!(scan(&format!("x {known} y"), &[known]).len(), 3);
        assert_eq!(scan("key=AIzaSyA0123456789", &[]).len(), 1);
        assert_eq!(scan("\"xai-0123456789ab\"", &[]).len(), 1);
        assert_eq!(scan("{\"k\":\"sk-proj-abcdefgh\"}", &[]).len(), 1);
        assert!(
            scan(
                "task-runner risk-assessment-engine xai-4 AIza sk-short",
                &[]
            )
            .is_empty()
        );
        let masked = scan("a sk-abcdefghijklmnop b", &[]);
        assert!(!masked[0].contains("ijklmnop"), "{masked:?}");
    }
}
