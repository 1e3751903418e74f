//! The model catalogue: an embedded data file (`models.json`) giving each known model's provider, context
//! window, capabilities and prices, so cost can be computed and `/v1/models` can list them.
//!
//! A model the catalogue does not know still works at its provider; its cost is unknown (`None`), never
//! zero. Dated snapshots (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`) resolve to their base entry.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::domain::provider::Provider;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Tools,
    Vision,
    JsonSchema,
    Reasoning,
    Embeddings,
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    pub input: f64,
    pub output: f64,
    /// Cached input; absent means cached tokens cost the input price.
    #[serde(default)]
    pub cached: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub provider: Provider,
    pub id: String,
    pub context_window: u64,
    /// The most tokens one answer may have, where the provider publishes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    pub capabilities: Vec<Capability>,
    pub price: Prices,
}

impl ModelInfo {
    pub fn has(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }

    /// `provider/id`, as callers name the model.
    pub fn qualified_id(&self) -> String {
        format!("{}/{}", self.provider, self.id)
    }
}

#[derive(Debug, Deserialize)]
struct File {
    models: Vec<ModelInfo>,
}

/// The embedded catalogue.
#[derive(Debug)]
pub struct Catalogue {
    models: Vec<ModelInfo>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    let file: File = serde_json::from_str(include_str!("models.json"))
        .expect("the embedded catalogue is valid JSON (checked by a unit test)");
    Catalogue {
        models: file.models,
    }
});

/// `model` is `base` or a dated snapshot of it (`base-2024-08-06`, `base-20250929`).
fn is_snapshot_of(model: &str, base: &str) -> bool {
    model == base
        || model
            .strip_prefix(base)
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(|date| {
                !date.is_empty() && date.chars().all(|c| c.is_ascii_digit() || c == '-')
            })
}

/// The documented family rules of [`Catalogue::provider_of`].
fn family(model: &str) -> Option<Provider> {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| model.starts_with(p));
    // o1, o3, o4-mini, o3-pro-2025-06-10: "o", digits, then the end or a dash.
    let o_series = model.strip_prefix('o').is_some_and(|rest| {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && (rest.len() == digits || rest.as_bytes()[digits] == b'-')
    });
    if starts(&["claude-"]) {
        Some(Provider::Anthropic)
    } else if o_series || starts(&["gpt-", "chatgpt-", "codex-", "text-embedding-"]) {
        Some(Provider::OpenAi)
    } else if starts(&["gemini-", "gemma-"]) {
        Some(Provider::Google)
    } else if starts(&["grok-"]) {
        Some(Provider::Xai)
    } else {
        None
    }
}

impl Catalogue {
    pub fn global() -> &'static Catalogue {
        &CATALOGUE
    }

    /// The entry of `model` at `provider`, if known.
    pub fn get(provider: Provider, model: &str) -> Option<&'static ModelInfo> {
        let models = &Self::global().models;
        models
            .iter()
            .find(|m| m.provider == provider && m.id == model)
            .or_else(|| {
                models
                    .iter()
                    .find(|m| m.provider == provider && is_snapshot_of(model, &m.id))
            })
    }

    /// The provider of a bare model name (no `provider/` prefix), as clients send by default: the
    /// catalogue's entry (dated snapshots included) when it knows the name, else the family rules below.
    /// `None` for a name of no known family.
    ///
    /// | family | provider |
    /// | --- | --- |
    /// | `claude-*` | anthropic |
    /// | `gpt-*`, `chatgpt-*`, `o<digits>` and `o<digits>-*` (`o1`, `o3`, `o4-mini`), `codex-*`, `text-embedding-*` | openai |
    /// | `gemini-*`, `gemma-*` | google |
    /// | `grok-*` | xai |
    pub fn provider_of(model: &str) -> Option<Provider> {
        let models = &Self::global().models;
        if let Some(m) = models
            .iter()
            .find(|m| m.id == model)
            .or_else(|| models.iter().find(|m| is_snapshot_of(model, &m.id)))
        {
            return Some(m.provider);
        }
        family(model)
    }

    /// Every known model, grouped by provider.
    pub fn list() -> &'static [ModelInfo] {
        &Self::global().models
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Usage;

    #[test]
    fn the_required_models_are_all_there() {
        let wanted = [
            (
                Provider::OpenAi,
                [
                    "gpt-4.1",
                    "gpt-4.1-mini",
                    "gpt-4o",
                    "gpt-4o-mini",
                    "o3",
                    "o4-mini",
                    "text-embedding-3-small",
                    "text-embedding-3-large",
                ]
                .as_slice(),
            ),
            (
                Provider::Anthropic,
                &[
                    "claude-sonnet-4-5",
                    "claude-opus-4-1",
                    "claude-haiku-4-5",
                    "claude-3-5-haiku-latest",
                ],
            ),
            (
                Provider::Google,
                &[
                    "gemini-2.5-pro",
                    "gemini-2.5-flash",
                    "gemini-2.5-flash-lite",
                    "text-embedding-004",
                    "gemini-embedding-001",
                ],
            ),
            (Provider::Xai, &["grok-4", "grok-3", "grok-3-mini"]),
        ];
        for (provider, ids) in wanted {
            for id in ids {
                let m = Catalogue::get(provider, id).unwrap_or_else(|| panic!("{provider}/{id}"));
                assert!(m.context_window > 0);
            }
        }
        assert_eq!(Catalogue::list().len(), 20);
    }

    #[test]
    fn cost_uses_cached_and_output_prices() {
        // Billing prices come from the operator's table, seeded from the shipped file (domain::price).
        let table = crate::domain::price::PriceTable::from_file(crate::domain::price::shipped());
        let u = Usage {
            input_tokens: 1_000_000,
            output_tokens: 500_000,
            cached_tokens: 200_000,
            reasoning_tokens: 0,
            cache_write_tokens: 0,
        };
        // 800k * 2.00 + 200k * 0.50 + 500k * 8.00 = 1.6 + 0.1 + 4.0
        let cost = table.cost(Provider::OpenAi, "gpt-4.1", &u).unwrap();
        assert!((cost - 5.7).abs() < 1e-9, "{cost}");
        assert!(
            Catalogue::get(Provider::Anthropic, "claude-sonnet-4-5")
                .unwrap()
                .has(Capability::Reasoning)
        );
        assert!(
            Catalogue::get(Provider::OpenAi, "text-embedding-3-small")
                .unwrap()
                .has(Capability::Embeddings)
        );
    }

    #[test]
    fn bare_names_resolve_by_catalogue_then_family() {
        for (model, provider) in [
            ("claude-sonnet-4-5-20250929", Provider::Anthropic),
            ("claude-haiku-4-5", Provider::Anthropic),
            ("claude-opus-4-1", Provider::Anthropic),
            ("claude-opus-4-6", Provider::Anthropic),
            ("gpt-4.1", Provider::OpenAi),
            ("gpt-5-codex", Provider::OpenAi),
            ("chatgpt-4o-latest", Provider::OpenAi),
            ("o3", Provider::OpenAi),
            ("o1", Provider::OpenAi),
            ("o4-mini", Provider::OpenAi),
            ("o3-pro-2025-06-10", Provider::OpenAi),
            ("text-embedding-3-small", Provider::OpenAi),
            ("text-embedding-004", Provider::Google),
            ("gemini-2.5-pro", Provider::Google),
            ("gemini-3-flash-preview", Provider::Google),
            ("grok-4", Provider::Xai),
            ("grok-code-fast-1", Provider::Xai),
        ] {
            assert_eq!(Catalogue::provider_of(model), Some(provider), "{model}");
        }
        for unknown in [
            "llama-3.1-70b",
            "mistral-large",
            "o",
            "omni",
            "oops-1",
            "claude",
            "policy",
            "",
        ] {
            assert_eq!(Catalogue::provider_of(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn unknown_models_have_unknown_cost_and_snapshots_resolve() {
        assert_eq!(Catalogue::get(Provider::OpenAi, "gpt-9-ultra"), None);
        let table = crate::domain::price::PriceTable::from_file(crate::domain::price::shipped());
        assert_eq!(
            table.cost(Provider::OpenAi, "gpt-9-ultra", &Usage::default()),
            None
        );
        assert_eq!(Catalogue::get(Provider::Anthropic, "gpt-4.1"), None);
        assert_eq!(
            Catalogue::get(Provider::OpenAi, "gpt-4o-2024-08-06")
                .unwrap()
                .id,
            "gpt-4o"
        );
        assert_eq!(
            Catalogue::get(Provider::Anthropic, "claude-sonnet-4-5-20250929")
                .unwrap()
                .id,
            "claude-sonnet-4-5"
        );
        assert_eq!(
            Catalogue::get(Provider::OpenAi, "gpt-4o-mini").unwrap().id,
            "gpt-4o-mini"
        );
        assert_eq!(
            Catalogue::get(Provider::OpenAi, "gpt-4o-mini-2024-07-18")
                .unwrap()
                .id,
            "gpt-4o-mini"
        );
    }
}
