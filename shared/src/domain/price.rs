//! Prices the operator controls: USD per million tokens (input, output, cache read, cache write) plus a
//! flat per-request price, per `<provider>/<model>`, and an optional default price for models not listed.
//!
//! Lookup rule (also in docs/prices.md): the name is lower-cased and a leading `models/` (Gemini's
//! resource name) removed; then the first entry found among, in order, the name itself, the name without a
//! trailing `-latest`, and the name without a trailing date (`-YYYY-MM-DD` or `-YYYYMMDD`) wins; then the
//! operator's default price, if any. So `gpt-4o-2024-08-06` costs what `gpt-4o` costs unless the operator
//! prices that snapshot itself.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::domain::provider::Provider;
use crate::error::{Error, Result};
use crate::providers::Usage;

/// Highest accepted price (USD per million tokens, or per request): a guard against a typo by 10^6.
pub const MAX_PRICE: f64 = 10_000.0;

/// One model's price. Token prices are USD per million tokens; `per_request` is USD per request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Cached input read; absent: the input price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    /// Input written to the provider's cache; absent: the input price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    #[serde(default)]
    pub per_request: f64,
}

impl Price {
    pub fn validate(&self) -> Result<()> {
        let fields = [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("per_request", Some(self.per_request)),
        ];
        for (name, value) in fields {
            if let Some(v) = value
                && !(v.is_finite() && (0.0..=MAX_PRICE).contains(&v))
            {
                return Err(Error::invalid(
                    name,
                    format!("{name} must be a number from 0 to {MAX_PRICE}"),
                ));
            }
        }
        Ok(())
    }

    /// Cost in USD of one call: fresh input, input read from the cache, input written to the cache and
    /// output (reasoning is output), each at its own price, plus the per-request price. Cache reads and
    /// writes are parts of `input_tokens` and are billed once, at their price, never also at the input price
    /// (counts a provider reports inconsistently are clamped to the input count).
    pub fn cost(&self, usage: &Usage) -> f64 {
        let cached = usage.cached_tokens.min(usage.input_tokens);
        let written = usage.cache_write_tokens.min(usage.input_tokens - cached);
        let fresh = usage.input_tokens - cached - written;
        (fresh as f64 * self.input
            + cached as f64 * self.cache_read.unwrap_or(self.input)
            + written as f64 * self.cache_write.unwrap_or(self.input)
            + usage.output_tokens as f64 * self.output)
            / 1_000_000.0
            + self.per_request
    }
}

/// One row of a price file (`byok price list` prints this shape; `byok price import` reads it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceEntry {
    pub provider: Provider,
    pub model: String,
    #[serde(flatten)]
    pub price: Price,
}

/// A whole price table, as stored and as shipped in `shared/prices/default.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PriceFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
    /// The price of any model not listed; `None`: such models are unpriced.
    #[serde(default)]
    pub default: Option<Price>,
    pub prices: Vec<PriceEntry>,
}

impl PriceFile {
    /// Parse and validate a price file (every price valid, every model name well-formed).
    pub fn parse(json: &str) -> Result<Self> {
        let file: PriceFile = serde_json::from_str(json)
            .map_err(|e| Error::bad_request(format!("not a valid price file: {e}")))?;
        file.validate()?;
        Ok(file)
    }

    pub fn validate(&self) -> Result<()> {
        if let Some(d) = &self.default {
            d.validate()?;
        }
        for e in &self.prices {
            normalise_name(&e.model)?;
            e.price.validate().map_err(|err| {
                Error::bad_request(format!("{}/{}: {}", e.provider, e.model, err))
            })?;
        }
        Ok(())
    }
}

static SHIPPED: LazyLock<PriceFile> = LazyLock::new(|| {
    PriceFile::parse(include_str!("../../prices/default.json"))
        .expect("the shipped price file is valid (checked by a unit test)")
});

/// The shipped default prices (`shared/prices/default.json`).
pub fn shipped() -> &'static PriceFile {
    &SHIPPED
}

/// A model name as stored: lower-cased, without Gemini's `models/` prefix; 1-128 characters of
/// `[a-z0-9._:-]`.
pub fn normalise_name(model: &str) -> Result<String> {
    normalised(model).map(Cow::into_owned).ok_or_else(|| {
        Error::invalid(
            "model",
            format!("{model:?} is not a model name (letters, digits, . _ : -)"),
        )
    })
}

/// [`normalise_name`] without an error, borrowing `model` when it is already a stored name (the usual
/// case: a price look-up on the hot path copies nothing).
fn normalised(model: &str) -> Option<Cow<'_, str>> {
    let trimmed = model.trim();
    let name: Cow<'_, str> = if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
        let lower = trimmed.to_ascii_lowercase();
        match lower.strip_prefix("models/") {
            Some(rest) => rest.to_owned().into(),
            None => lower.into(),
        }
    } else {
        trimmed.strip_prefix("models/").unwrap_or(trimmed).into()
    };
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._:-".contains(&b));
    ok.then_some(name)
}

fn strip_date(name: &str) -> Option<&str> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    // -YYYYMMDD
    if let Some((base, tail)) = name.rsplit_once('-')
        && tail.len() == 8
        && digits(tail)
    {
        return Some(base);
    }
    // -YYYY-MM-DD
    if name.len() > 11 && name.is_char_boundary(name.len() - 11) {
        let (base, tail) = name.split_at(name.len() - 11);
        let t = tail.as_bytes();
        if t[0] == b'-'
            && digits(&tail[1..5])
            && t[5] == b'-'
            && digits(&tail[6..8])
            && t[8] == b'-'
            && digits(&tail[9..11])
        {
            return Some(base);
        }
    }
    None
}

/// The operator's prices, ready for lookups.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PriceTable {
    /// By provider, then stored model name (no provider is kept without a model), so a look-up by a
    /// borrowed name allocates nothing.
    prices: BTreeMap<Provider, BTreeMap<String, Price>>,
    default: Option<Price>,
}

impl PriceTable {
    pub fn from_file(file: &PriceFile) -> Self {
        let mut table = Self {
            prices: BTreeMap::new(),
            default: file.default,
        };
        for e in &file.prices {
            if let Some(name) = normalised(&e.model) {
                table.insert(e.provider, name.into_owned(), e.price);
            }
        }
        table
    }

    fn insert(&mut self, provider: Provider, name: String, price: Price) {
        self.prices.entry(provider).or_default().insert(name, price);
    }

    pub fn to_file(&self) -> PriceFile {
        PriceFile {
            note: None,
            checked: None,
            default: self.default,
            prices: self
                .prices
                .iter()
                .flat_map(|(provider, models)| {
                    models.iter().map(|(model, price)| PriceEntry {
                        provider: *provider,
                        model: model.clone(),
                        price: *price,
                    })
                })
                .collect(),
        }
    }

    /// Set (or with `None` remove) one model's price.
    pub fn set(&mut self, provider: Provider, model: &str, price: Option<Price>) -> Result<()> {
        let name = normalise_name(model)?;
        match price {
            Some(p) => {
                p.validate()?;
                self.insert(provider, name, p);
            }
            None => {
                if let Some(models) = self.prices.get_mut(&provider) {
                    models.remove(&name);
                    if models.is_empty() {
                        self.prices.remove(&provider);
                    }
                }
            }
        }
        Ok(())
    }

    pub fn set_default(&mut self, price: Option<Price>) -> Result<()> {
        if let Some(p) = &price {
            p.validate()?;
        }
        self.default = price;
        Ok(())
    }

    /// Merge every entry of `file` (its default too, when it has one).
    pub fn merge(&mut self, file: &PriceFile) -> Result<()> {
        file.validate()?;
        let other = Self::from_file(file);
        for (provider, models) in other.prices {
            self.prices.entry(provider).or_default().extend(models);
        }
        if other.default.is_some() {
            self.default = other.default;
        }
        Ok(())
    }

    /// The listed price of `model` at `provider`, by the lookup rule, without the default.
    pub fn listed(&self, provider: Provider, model: &str) -> Option<&Price> {
        let models = self.prices.get(&provider)?;
        let name = normalised(model)?;
        let unaliased = name.strip_suffix("-latest").unwrap_or(&name);
        models
            .get(&*name)
            .or_else(|| models.get(unaliased))
            .or_else(|| strip_date(unaliased).and_then(|family| models.get(family)))
    }

    /// The price to bill `model` at: its listed price, else the default; `None`: unpriced.
    pub fn price(&self, provider: Provider, model: &str) -> Option<&Price> {
        self.listed(provider, model).or(self.default.as_ref())
    }

    pub fn cost(&self, provider: Provider, model: &str, usage: &Usage) -> Option<f64> {
        self.price(provider, model).map(|p| p.cost(usage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cached: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_tokens: cached,
            reasoning_tokens: 0,
            cache_write_tokens: 0,
        }
    }

    #[test]
    fn cache_reads_and_writes_are_billed_at_their_own_prices_only() {
        let mut table = PriceTable::default();
        let price = Price {
            input: 3.0,
            output: 15.0,
            cache_read: Some(0.3),
            cache_write: Some(3.75),
            per_request: 0.0,
        };
        table
            .set(Provider::Anthropic, "claude-sonnet-4-5", Some(price))
            .unwrap();
        // 1M input of which 600k read and 300k written: 100k * 3 + 600k * 0.3 + 300k * 3.75 + 0 output.
        let u = Usage {
            input_tokens: 1_000_000,
            cached_tokens: 600_000,
            cache_write_tokens: 300_000,
            ..Usage::default()
        };
        let c = table
            .cost(Provider::Anthropic, "claude-sonnet-4-5", &u)
            .unwrap();
        assert!((c - (0.3 + 0.18 + 1.125)).abs() < 1e-9, "{c}");
        // Without cache prices both fall back to the input price: the plain input cost.
        table
            .set(
                Provider::Anthropic,
                "claude-sonnet-4-5",
                Some(Price {
                    cache_read: None,
                    cache_write: None,
                    ..price
                }),
            )
            .unwrap();
        let c = table
            .cost(Provider::Anthropic, "claude-sonnet-4-5", &u)
            .unwrap();
        assert!((c - 3.0).abs() < 1e-9, "{c}");
        // Counts beyond the input count (an inconsistent provider) are clamped, never negative.
        let odd = Usage {
            input_tokens: 10,
            cached_tokens: 8,
            cache_write_tokens: 8,
            ..Usage::default()
        };
        let c = table
            .cost(Provider::Anthropic, "claude-sonnet-4-5", &odd)
            .unwrap();
        assert!((c - 10.0 * 3.0 / 1e6).abs() < 1e-12, "{c}");
    }

    #[test]
    fn the_shipped_file_prices_every_provider() {
        let table = PriceTable::from_file(shipped());
        for (p, m) in [
            (Provider::OpenAi, "gpt-4.1-mini"),
            (Provider::OpenAi, "text-embedding-3-small"),
            (Provider::Anthropic, "claude-sonnet-4-5"),
            (Provider::Google, "gemini-2.5-flash"),
            (Provider::Google, "gemini-embedding-001"),
            (Provider::Xai, "grok-4"),
        ] {
            assert!(table.listed(p, m).is_some(), "{p}/{m}");
        }
        assert_eq!(shipped().default, None);
    }

    #[test]
    fn names_resolve_to_their_family() {
        let table = PriceTable::from_file(shipped());
        let gpt4o = table.listed(Provider::OpenAi, "gpt-4o").unwrap();
        assert_eq!(
            table.listed(Provider::OpenAi, "gpt-4o-2024-08-06"),
            Some(gpt4o)
        );
        assert_eq!(table.listed(Provider::OpenAi, "GPT-4o"), Some(gpt4o));
        let sonnet = table
            .listed(Provider::Anthropic, "claude-sonnet-4-5")
            .unwrap();
        assert_eq!(
            table.listed(Provider::Anthropic, "claude-sonnet-4-5-20250929"),
            Some(sonnet)
        );
        assert!(
            table
                .listed(Provider::Anthropic, "claude-3-5-haiku-latest")
                .is_some()
        );
        let pro = table.listed(Provider::Google, "gemini-2.5-pro").unwrap();
        assert_eq!(
            table.listed(Provider::Google, "models/gemini-2.5-pro"),
            Some(pro)
        );
        // Not a family of anything listed, and not another provider's model.
        assert_eq!(table.listed(Provider::OpenAi, "gpt-9-ultra"), None);
        assert_eq!(table.listed(Provider::Anthropic, "gpt-4o"), None);
        // A version number is not a date.
        assert_eq!(table.listed(Provider::Anthropic, "claude-sonnet-4"), None);
    }

    #[test]
    fn a_table_round_trips_and_a_removed_price_leaves_no_trace() {
        let file = shipped();
        let table = PriceTable::from_file(file);
        assert_eq!(PriceTable::from_file(&table.to_file()), table);
        let mut changed = table.clone();
        let price = *changed.listed(Provider::OpenAi, "gpt-4o").unwrap();
        changed
            .set(Provider::Xai, "Models/Grok-Test", Some(price))
            .unwrap();
        assert_eq!(changed.listed(Provider::Xai, "grok-test"), Some(&price));
        assert_eq!(changed.listed(Provider::Xai, "  GROK-TEST "), Some(&price));
        assert_eq!(changed.listed(Provider::OpenAi, "grok-test"), None);
        changed.set(Provider::Xai, "grok-test", None).unwrap();
        let mut only = PriceTable::default();
        only.set(Provider::Xai, "grok-test", Some(price)).unwrap();
        only.set(Provider::Xai, "grok-test", None).unwrap();
        assert_eq!(
            only,
            PriceTable::default(),
            "no provider kept without a model"
        );
        assert_eq!(changed, table);
    }

    #[test]
    fn a_snapshot_priced_by_the_operator_wins_over_its_family() {
        let mut table = PriceTable::from_file(shipped());
        let own = Price {
            input: 1.0,
            output: 1.0,
            cache_read: None,
            cache_write: None,
            per_request: 0.0,
        };
        table
            .set(Provider::OpenAi, "gpt-4o-2024-08-06", Some(own))
            .unwrap();
        assert_eq!(
            table.listed(Provider::OpenAi, "gpt-4o-2024-08-06"),
            Some(&own)
        );
        assert_ne!(table.listed(Provider::OpenAi, "gpt-4o"), Some(&own));
    }

    #[test]
    fn cost_counts_cache_output_and_per_request_and_default_applies() {
        let mut table = PriceTable::from_file(shipped());
        // 800k * 2.00 + 200k * 0.50 + 500k * 8.00 = 1.6 + 0.1 + 4.0
        let c = table
            .cost(
                Provider::OpenAi,
                "gpt-4.1",
                &usage(1_000_000, 500_000, 200_000),
            )
            .unwrap();
        assert!((c - 5.7).abs() < 1e-9);
        assert_eq!(
            table.cost(Provider::OpenAi, "new-model", &usage(1, 1, 0)),
            None
        );
        let default = Price {
            input: 10.0,
            output: 20.0,
            cache_read: None,
            cache_write: None,
            per_request: 0.001,
        };
        table.set_default(Some(default)).unwrap();
        let c = table
            .cost(Provider::OpenAi, "new-model", &usage(1_000_000, 0, 0))
            .unwrap();
        assert!((c - 10.001).abs() < 1e-9);
    }

    #[test]
    fn bad_prices_and_names_are_refused() {
        let mut table = PriceTable::default();
        let bad = Price {
            input: -1.0,
            output: 0.0,
            cache_read: None,
            cache_write: None,
            per_request: 0.0,
        };
        assert_eq!(
            table
                .set(Provider::OpenAi, "m", Some(bad))
                .unwrap_err()
                .param
                .as_deref(),
            Some("input")
        );
        let nan = Price {
            input: f64::NAN,
            ..bad
        };
        assert!(table.set(Provider::OpenAi, "m", Some(nan)).is_err());
        let ok = Price { input: 1.0, ..bad };
        assert!(table.set(Provider::OpenAi, "bad name", Some(ok)).is_err());
        assert!(
            PriceFile::parse(r#"{"prices":[{"provider":"openai","model":"m","input":1}]}"#)
                .is_err()
        );
        assert!(
            PriceFile::parse(
                r#"{"prices":[{"provider":"nope","model":"m","input":1,"output":1}]}"#
            )
            .is_err()
        );
    }
}
