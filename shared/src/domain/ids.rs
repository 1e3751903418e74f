//! Identifiers: a readable type prefix and a ULID (time-ordered, 80 random bits).

pub fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}

/// True for ids this module makes: `prefix_` then 26 base32 characters. Checked before any store lookup.
pub fn is_id(prefix: &str, value: &str) -> bool {
    value
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|ulid| ulid.len() == 26 && ulid.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_their_format() {
        let id = new_id("org");
        assert!(is_id("org", &id), "{id}");
        assert!(!is_id("key", &id));
        assert!(!is_id("org", "org_../../etc"));
        assert_ne!(new_id("org"), new_id("org"));
    }
}
