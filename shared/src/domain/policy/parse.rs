//! A policy document as submitted → a validated [`Policy`].
//!
//! Every error is a 400 naming the field in `param` (`name`, `type`, `steps[1].model`,
//! `targets[0].weight`, `fallover_on[2]`, ...). The document's shape is [`PolicyDocument`], read by serde
//! (unknown fields are rejected at every level; `null` counts as absent) through `serde_path_to_error`, so a
//! wrong type names its exact path; the rules serde cannot express (required fields, ranges, which fields
//! go with which `type`, duplicates, model ids) are checked here after it. References to other policies
//! (existence, cycles, depth) are checked by [`super::graph`].

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_path_to_error::Segment;

use super::{
    DEFAULT_TIMEOUT_MS, ErrorClass, KeySource, MAX_ENTRIES, MAX_RETRIES, MAX_TIMEOUT_MS,
    MAX_WEIGHT, MIN_TIMEOUT_MS, ModelRef, Policy, Rule, Step, Sticky, Target, validate_policy_name,
};
use crate::error::{Error, Result};

/// What the document is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseMode<'a> {
    /// `POST /v1/policies`: `name` is required; `version` must be absent.
    Create,
    /// `PUT /v1/policies/{name}`: `version` is required; `name` may be given but must equal the path's.
    Update { name: &'a str },
}

/// A parsed document: the policy and, for an update, the version it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyInput {
    pub policy: Policy,
    pub version: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyType {
    Fallback,
    LoadBalance,
}

/// A policy as submitted. `fallback` takes `steps`; `load_balance` takes `targets` (and `sticky`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// Required on create; on update it may be given but must equal the path's.
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    name: Option<String>,
    #[serde(rename = "type")]
    #[schema(required = true, nullable = false)]
    kind: Option<PolicyType>,
    /// 1-16 steps, tried in order.
    #[schema(min_items = 1, max_items = 16)]
    steps: Option<Vec<StepDocument>>,
    /// 1-16 weighted targets.
    #[schema(min_items = 1, max_items = 16)]
    targets: Option<Vec<TargetDocument>>,
    sticky: Option<Sticky>,
    /// The error classes that move on to the next entry (default: all).
    #[schema(min_items = 1)]
    fallover_on: Option<Vec<ErrorClass>>,
    /// Total time budget of a request, 1-900000 ms.
    #[schema(minimum = 1, maximum = 900000)]
    deadline_ms: Option<u64>,
    /// Required on update: the version the policy was read at (stale: 409). Not allowed on create.
    #[schema(minimum = 1)]
    version: Option<u64>,
}

/// A fallback step as submitted. For a `policy/<name>` step only `model` may be given.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDocument {
    /// `<provider>/<model>` or `policy/<name>`.
    #[schema(example = "openai/gpt-4.1-mini", required = true, nullable = false)]
    model: Option<String>,
    /// Default `own`.
    key_source: Option<KeySource>,
    /// Default 0.
    #[schema(minimum = 0, maximum = 10)]
    retries: Option<u32>,
    /// Per attempt; default 60000, at least 1000.
    #[schema(minimum = 1000, maximum = 900000)]
    timeout_ms: Option<u64>,
}

/// A load-balancing target as submitted. For a `policy/<name>` target `key_source` may not be given.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetDocument {
    /// `<provider>/<model>` or `policy/<name>`.
    #[schema(
        example = "anthropic/claude-sonnet-4-5",
        required = true,
        nullable = false
    )]
    model: Option<String>,
    /// Default `own`.
    key_source: Option<KeySource>,
    /// Greater than 0, at most 1000000.
    #[schema(
        required = true,
        nullable = false,
        exclusive_minimum = 0,
        maximum = 1000000
    )]
    weight: Option<f64>,
}

const KEY_SOURCE_EXPECTED: &str = "one of own, platform, own_then_platform, platform_then_own";
const ERROR_CLASS_EXPECTED: &str = "one of timeout, connection_error, rate_limited, server_error, own_key_rejected, platform_key_rejected";

/// What a field holds, for the message of a value serde refused there.
fn expectation(field: &str) -> Option<String> {
    Some(match field {
        "name" | "model" => "a string".to_owned(),
        "type" => "one of fallback, load_balance".to_owned(),
        "steps" | "targets" => "an array".to_owned(),
        "sticky" => "one of trace_id, user_id, none".to_owned(),
        "fallover_on" => "an array of error classes".to_owned(),
        "deadline_ms" | "version" | "timeout_ms" => "a positive integer".to_owned(),
        "key_source" => KEY_SOURCE_EXPECTED.to_owned(),
        "retries" => format!("an integer from 0 to {MAX_RETRIES}"),
        "weight" => "a number greater than 0".to_owned(),
        _ => return None,
    })
}

/// serde's refusal as a 400 naming the exact path (`steps[1].retries`).
fn refused(err: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = err.path();
    let segments: Vec<&Segment> = path.iter().collect();
    let param = if segments.is_empty() {
        String::new()
    } else {
        path.to_string()
    };
    let inner = err.inner().to_string();
    let expected = match segments.as_slice() {
        // An unknown field: serde's message lists the fields the object takes.
        _ if inner.starts_with("unknown field") => None,
        [.., Segment::Map { key }, Segment::Seq { .. }] if key.as_str() == "fallover_on" => {
            Some(ERROR_CLASS_EXPECTED.to_owned())
        }
        [.., Segment::Seq { .. }] => Some("an object".to_owned()),
        [.., Segment::Map { key }] => expectation(key),
        _ => None,
    };
    let message = match expected {
        Some(expected) => format!("{param} must be {expected}"),
        None => format!("{param}: {inner}"),
    };
    Error::invalid(param, message)
}

fn required<T>(value: Option<T>, param: &str) -> Result<T> {
    value.ok_or_else(|| Error::invalid(param, format!("{param} is required")))
}

/// Parse and validate a policy document.
pub fn parse_document(body: &Value, mode: ParseMode<'_>) -> Result<PolicyInput> {
    // A JSON array would otherwise be read as the struct's fields in order.
    if !body.is_object() {
        return Err(Error::invalid("", "the request body must be a JSON object"));
    }
    let doc: PolicyDocument = serde_path_to_error::deserialize(body).map_err(refused)?;

    let name = match mode {
        ParseMode::Create => {
            let name = required(doc.name, "name")?;
            validate_policy_name(&name, "name")?;
            name
        }
        ParseMode::Update { name } => {
            if let Some(given) = doc.name
                && given != name
            {
                return Err(Error::invalid(
                    "name",
                    "name must match the policy in the URL; policies cannot be renamed (create a new one and delete the old)",
                ));
            }
            name.to_owned()
        }
    };

    match mode {
        ParseMode::Create if doc.version.is_some() => {
            return Err(Error::invalid(
                "version",
                "version must not be given when creating a policy",
            ));
        }
        ParseMode::Update { .. } => {
            if required(doc.version, "version")? == 0 {
                return Err(Error::invalid(
                    "version",
                    "version must be a positive integer",
                ));
            }
        }
        ParseMode::Create => {}
    }

    let rule = match required(doc.kind, "type")? {
        PolicyType::Fallback => {
            forbid(
                doc.targets.is_some(),
                "targets",
                "a fallback policy has steps, not targets",
            )?;
            forbid(
                doc.sticky.is_some(),
                "sticky",
                "sticky applies only to load_balance policies",
            )?;
            Rule::Fallback {
                steps: parse_steps(entries(doc.steps, "steps")?)?,
            }
        }
        PolicyType::LoadBalance => {
            forbid(
                doc.steps.is_some(),
                "steps",
                "a load_balance policy has targets, not steps",
            )?;
            Rule::LoadBalance {
                targets: parse_targets(entries(doc.targets, "targets")?)?,
                sticky: doc.sticky.unwrap_or_default(),
            }
        }
    };

    let fallover_on = doc.fallover_on.map(check_fallover).transpose()?;
    if let Some(d) = doc.deadline_ms
        && !(1..=MAX_TIMEOUT_MS).contains(&d)
    {
        return Err(Error::invalid(
            "deadline_ms",
            format!("deadline_ms must be between 1 and {MAX_TIMEOUT_MS}"),
        ));
    }

    Ok(PolicyInput {
        policy: Policy {
            name,
            rule,
            fallover_on,
            deadline_ms: doc.deadline_ms,
        },
        version: doc.version,
    })
}

fn forbid(given: bool, key: &str, why: &str) -> Result<()> {
    if given {
        Err(Error::invalid(key, format!("{key} is not allowed: {why}")))
    } else {
        Ok(())
    }
}

fn entries<T>(list: Option<Vec<T>>, key: &str) -> Result<Vec<T>> {
    let list = required(list, key)?;
    if list.is_empty() {
        return Err(Error::invalid(
            key,
            format!("{key} must not be empty: a policy needs at least one entry"),
        ));
    }
    if list.len() > MAX_ENTRIES {
        return Err(Error::invalid(
            key,
            format!("{key} must have at most {MAX_ENTRIES} entries"),
        ));
    }
    Ok(list)
}

fn model_of(model: Option<String>, prefix: &str) -> Result<ModelRef> {
    let param = format!("{prefix}.model");
    // An unknown bare name is a 404 in a request, but in a policy being saved it is invalid input.
    ModelRef::parse_as(&required(model, &param)?, &param).map_err(|mut e| {
        e.kind = crate::error::ErrorKind::InvalidRequest;
        e
    })
}

/// For a `policy/<name>` entry the nested policy decides these; giving them is an error, not ignored.
fn forbid_for_policy(prefix: &str, given: &[(&str, bool)]) -> Result<()> {
    match given.iter().find(|(_, given)| *given) {
        None => Ok(()),
        Some((key, _)) => {
            let param = format!("{prefix}.{key}");
            Err(Error::invalid(
                &param,
                format!(
                    "{param} does not apply to a policy/<name> entry; the nested policy decides"
                ),
            ))
        }
    }
}

fn parse_steps(documents: Vec<StepDocument>) -> Result<Vec<Step>> {
    let mut steps: Vec<Step> = Vec::new();
    for (i, doc) in documents.into_iter().enumerate() {
        let prefix = format!("steps[{i}]");
        let model = model_of(doc.model, &prefix)?;
        let step = if model.policy_name().is_some() {
            forbid_for_policy(
                &prefix,
                &[
                    ("key_source", doc.key_source.is_some()),
                    ("retries", doc.retries.is_some()),
                    ("timeout_ms", doc.timeout_ms.is_some()),
                ],
            )?;
            Step {
                model,
                key_source: None,
                retries: None,
                timeout_ms: None,
            }
        } else {
            let retries = doc.retries.unwrap_or(0);
            if retries > MAX_RETRIES {
                let param = format!("{prefix}.retries");
                return Err(Error::invalid(
                    &param,
                    format!("{param} must be an integer from 0 to {MAX_RETRIES}"),
                ));
            }
            let timeout_ms = doc.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
            if !(MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
                let param = format!("{prefix}.timeout_ms");
                return Err(Error::invalid(
                    &param,
                    format!("{param} must be between {MIN_TIMEOUT_MS} and {MAX_TIMEOUT_MS}"),
                ));
            }
            Step {
                model,
                key_source: Some(doc.key_source.unwrap_or(KeySource::DEFAULT)),
                retries: Some(retries),
                timeout_ms: Some(timeout_ms),
            }
        };
        if let Some(j) = steps
            .iter()
            .position(|s| s.model == step.model && s.key_source == step.key_source)
        {
            let param = format!("{prefix}.model");
            return Err(Error::invalid(
                &param,
                format!(
                    "{param} duplicates steps[{j}] (same model and key_source); use retries instead"
                ),
            ));
        }
        steps.push(step);
    }
    Ok(steps)
}

fn parse_targets(documents: Vec<TargetDocument>) -> Result<Vec<Target>> {
    let mut targets: Vec<Target> = Vec::new();
    for (i, doc) in documents.into_iter().enumerate() {
        let prefix = format!("targets[{i}]");
        let model = model_of(doc.model, &prefix)?;
        let key_source = if model.policy_name().is_some() {
            forbid_for_policy(&prefix, &[("key_source", doc.key_source.is_some())])?;
            None
        } else {
            Some(doc.key_source.unwrap_or(KeySource::DEFAULT))
        };
        let weight_param = format!("{prefix}.weight");
        let weight = required(doc.weight, &weight_param)?;
        if !(weight.is_finite() && weight > 0.0 && weight <= MAX_WEIGHT) {
            return Err(Error::invalid(
                &weight_param,
                format!("{weight_param} must be a number greater than 0 and at most {MAX_WEIGHT}"),
            ));
        }
        if let Some(j) = targets
            .iter()
            .position(|t| t.model == model && t.key_source == key_source)
        {
            let param = format!("{prefix}.model");
            return Err(Error::invalid(
                &param,
                format!(
                    "{param} duplicates targets[{j}] (same model and key_source); raise its weight instead"
                ),
            ));
        }
        targets.push(Target {
            model,
            key_source,
            weight,
        });
    }
    Ok(targets)
}

fn check_fallover(classes: Vec<ErrorClass>) -> Result<Vec<ErrorClass>> {
    if classes.is_empty() {
        return Err(Error::invalid(
            "fallover_on",
            "fallover_on must name at least one error class; omit it for the default",
        ));
    }
    for (i, class) in classes.iter().enumerate() {
        if classes[..i].contains(class) {
            let param = format!("fallover_on[{i}]");
            return Err(Error::invalid(&param, format!("{param} is listed twice")));
        }
    }
    Ok(classes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorKind;

    fn create(body: Value) -> Result<Policy> {
        parse_document(&body, ParseMode::Create).map(|p| p.policy)
    }

    fn param_of(body: Value) -> String {
        let err = create(body).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "{err:?}");
        err.param.expect("param")
    }

    fn fallback(steps: Value) -> Value {
        json!({"name": "chain", "type": "fallback", "steps": steps})
    }

    #[test]
    fn parses_a_fallback_with_defaults() {
        let p = create(fallback(json!([
            {"model": "anthropic/claude-sonnet-4-5", "key_source": "own", "retries": 2, "timeout_ms": 60000},
            {"model": "openai/gpt-4.1-mini"},
            {"model": "policy/backup"}
        ])))
        .unwrap();
        let Rule::Fallback { steps } = &p.rule else {
            panic!("fallback expected")
        };
        assert_eq!(steps[0].retries, Some(2));
        assert_eq!(steps[1].key_source, Some(KeySource::Own));
        assert_eq!(steps[1].retries, Some(0));
        assert_eq!(steps[1].timeout_ms, Some(DEFAULT_TIMEOUT_MS));
        assert_eq!(steps[2].key_source, None);
        assert_eq!(p.references(), vec!["backup"]);
        assert_eq!(p.fallover_on, None);
    }

    #[test]
    fn parses_a_load_balance() {
        let p = create(json!({
            "name": "lb", "type": "load_balance", "sticky": "user_id",
            "targets": [{"model": "xai/grok-4", "key_source": "platform", "weight": 1},
                        {"model": "policy/chain", "weight": 0.5}],
            "fallover_on": ["timeout", "rate_limited"], "deadline_ms": 120000
        }))
        .unwrap();
        assert_eq!(p.kind(), "load_balance");
        assert_eq!(
            p.fallover_classes(),
            vec![ErrorClass::Timeout, ErrorClass::RateLimited]
        );
        assert_eq!(p.deadline_ms, Some(120_000));
    }

    #[test]
    fn every_rule_names_its_field() {
        let cases: Vec<(Value, &str)> = vec![
            (json!([]), "body"),
            (
                json!({"type": "fallback", "steps": [{"model": "openai/x"}]}),
                "name",
            ),
            (
                json!({"name": "Bad Name", "type": "fallback", "steps": [{"model": "openai/x"}]}),
                "name",
            ),
            (
                json!({"name": "a/b", "type": "fallback", "steps": [{"model": "openai/x"}]}),
                "name",
            ),
            (
                json!({"name": "a", "steps": [{"model": "openai/x"}]}),
                "type",
            ),
            (
                json!({"name": "a", "type": "round_robin", "steps": []}),
                "type",
            ),
            (
                json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}], "extra": 1}),
                "extra",
            ),
            (
                json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}], "version": 1}),
                "version",
            ),
            (fallback(json!([])), "steps"),
            (json!({"name": "a", "type": "fallback"}), "steps"),
            (fallback(json!({"model": "openai/x"})), "steps"),
            (fallback(json!(["openai/x"])), "steps[0]"),
            (
                fallback(json!([{"model": "openai/x"}, {"model": "mistral/large"}])),
                "steps[1].model",
            ),
            (
                fallback(json!([{"model": "openai/x"}, {"model": "openai"}])),
                "steps[1].model",
            ),
            (
                fallback(json!([{"model": "openai/x"}, {}])),
                "steps[1].model",
            ),
            (
                fallback(json!([{"model": "openai/x", "retries": 11}])),
                "steps[0].retries",
            ),
            (
                fallback(json!([{"model": "openai/x", "retries": -1}])),
                "steps[0].retries",
            ),
            (
                fallback(json!([{"model": "openai/x", "retries": "2"}])),
                "steps[0].retries",
            ),
            (
                fallback(json!([{"model": "openai/x", "timeout_ms": 0}])),
                "steps[0].timeout_ms",
            ),
            (
                fallback(json!([{"model": "openai/x", "timeout_ms": 999}])),
                "steps[0].timeout_ms",
            ),
            (
                fallback(json!([{"model": "openai/x", "key_source": "mine"}])),
                "steps[0].key_source",
            ),
            (
                fallback(json!([{"model": "openai/x", "colour": "red"}])),
                "steps[0].colour",
            ),
            (
                fallback(json!([{"model": "openai/x"}, {"model": "openai/x"}])),
                "steps[1].model",
            ),
            (
                fallback(json!([{"model": "policy/other", "retries": 1}])),
                "steps[0].retries",
            ),
            (
                json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}], "sticky": "user_id"}),
                "sticky",
            ),
            (
                json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}], "targets": []}),
                "targets",
            ),
            (
                json!({"name": "a", "type": "load_balance", "targets": []}),
                "targets",
            ),
            (
                json!({"name": "a", "type": "load_balance", "targets": [{"model": "openai/x", "weight": 0}]}),
                "targets[0].weight",
            ),
            (
                json!({"name": "a", "type": "load_balance", "targets": [{"model": "openai/x", "weight": -2}]}),
                "targets[0].weight",
            ),
            (
                json!({"name": "a", "type": "load_balance", "targets": [{"model": "openai/x"}]}),
                "targets[0].weight",
            ),
            (
                json!({"name": "a", "type": "load_balance", "targets": [{"model": "openai/x", "weight": 1}, {"model": "openai/x", "weight": 2}]}),
                "targets[1].model",
            ),
            (
                json!({"name": "a", "type": "load_balance", "targets": [{"model": "policy/p", "weight": 1, "key_source": "own"}]}),
                "targets[0].key_source",
            ),
            (
                json!({"name": "a", "type": "load_balance", "targets": [{"model": "openai/x", "weight": 1}], "sticky": "session"}),
                "sticky",
            ),
            (
                json!({"name": "a", "type": "load_balance", "targets": [{"model": "openai/x", "weight": 1}], "steps": []}),
                "steps",
            ),
            (
                json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}], "fallover_on": []}),
                "fallover_on",
            ),
            (
                json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}], "fallover_on": ["timeout", "invalid_request"]}),
                "fallover_on[1]",
            ),
            (
                json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}], "fallover_on": ["timeout", "timeout"]}),
                "fallover_on[1]",
            ),
            (
                json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}], "deadline_ms": 0}),
                "deadline_ms",
            ),
        ];
        for (body, expected) in cases {
            let expected = if expected == "body" { "" } else { expected };
            assert_eq!(param_of(body.clone()), expected, "{body}");
        }
        let too_many: Vec<Value> = (0..=MAX_ENTRIES)
            .map(|i| json!({"model": format!("openai/m{i}")}))
            .collect();
        assert_eq!(param_of(fallback(Value::Array(too_many))), "steps");
    }

    #[test]
    fn a_value_serde_refuses_names_its_exact_path_and_what_it_must_be() {
        let cases: Vec<(Value, &str)> = vec![
            (
                fallback(json!([{"model": "openai/x"}, {"model": "openai/y", "retries": "2"}])),
                "steps[1].retries must be an integer from 0 to 10",
            ),
            (
                fallback(json!([{"model": "openai/x", "key_source": 3}])),
                "steps[0].key_source must be one of own, platform, own_then_platform, platform_then_own",
            ),
            (
                fallback(json!([{"model": 7}])),
                "steps[0].model must be a string",
            ),
            (fallback(json!(["openai/x"])), "steps[0] must be an object"),
            (
                fallback(json!({"model": "openai/x"})),
                "steps must be an array",
            ),
            (
                json!({"name": "a", "type": "load_balance", "targets": [{"model": "openai/x", "weight": "1"}]}),
                "targets[0].weight must be a number greater than 0",
            ),
            (
                json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}], "fallover_on": ["timeout", "refusal"]}),
                "fallover_on[1] must be one of timeout, connection_error, rate_limited, server_error, own_key_rejected, platform_key_rejected",
            ),
            (
                json!({"name": "a", "type": 1, "steps": [{"model": "openai/x"}]}),
                "type must be one of fallback, load_balance",
            ),
            (
                fallback(json!([{"model": "openai/x", "colour": "red"}])),
                "steps[0].colour: unknown field `colour`, expected one of `model`, `key_source`, `retries`, `timeout_ms`",
            ),
        ];
        for (body, expected) in cases {
            let err = create(body.clone()).unwrap_err();
            let param = expected.split([' ', ':']).next().unwrap();
            assert_eq!(err.param.as_deref(), Some(param), "{body}");
            assert_eq!(err.message, expected, "{body}");
        }
    }

    #[test]
    fn same_model_with_another_key_source_is_not_a_duplicate() {
        assert!(
            create(fallback(json!([
                {"model": "openai/x", "key_source": "own"},
                {"model": "openai/x", "key_source": "platform"}
            ])))
            .is_ok()
        );
    }

    #[test]
    fn update_requires_version_and_the_same_name() {
        let body = json!({"type": "fallback", "steps": [{"model": "openai/x"}]});
        let err = parse_document(&body, ParseMode::Update { name: "a" }).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("version"));
        let mut with_version = body.clone();
        with_version["version"] = json!(3);
        let input = parse_document(&with_version, ParseMode::Update { name: "a" }).unwrap();
        assert_eq!(input.version, Some(3));
        assert_eq!(input.policy.name, "a");
        with_version["name"] = json!("b");
        let err = parse_document(&with_version, ParseMode::Update { name: "a" }).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("name"));
    }
}
