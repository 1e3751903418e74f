//! A string secret (provider key, gateway key) that is wiped from memory on drop and never printed.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

/// Plaintext secret. `Debug` and `Display` print a redaction; the buffer is zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The plaintext. Call sites are few and deliberate: encryption, hashing, the provider call.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters, the only part of a key that is ever shown back.
    pub fn hint(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let tail = chars.len().saturating_sub(4);
        chars[tail..].iter().collect()
    }

    /// Read a whole stream (e.g. stdin) as a secret, trimming surrounding white space; the raw buffer is
    /// zeroized too.
    pub fn read_trimmed(mut reader: impl std::io::Read) -> std::io::Result<Self> {
        let mut raw = Zeroizing::new(String::new());
        reader.read_to_string(&mut raw)?;
        Ok(Self::new(raw.trim()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("sk-very-secret-1234");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert!(!format!("{:?}", Some(&s)).contains("secret-1234"));
    }

    #[test]
    fn hint_is_the_last_four_characters_only() {
        assert_eq!(Secret::new("sk-abcdefgh1234").hint(), "1234");
        assert_eq!(Secret::new("ab").hint(), "ab");
        assert_eq!(Secret::new("ключ-åäöü").hint(), "åäöü");
    }
}
