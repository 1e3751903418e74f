//! A policy document as submitted → a validated [`Policy`].
//!
//! Every error is a 400 naming the field in `param` (`name`, `type`, `steps[1].model`,
//! `targets[0].weight`, `fallover_on[2]`, ...). Unknown fields are rejected at every level. Fields are read
//! one by one (rather than with one `serde` call) so that the error can name the exact field; the same
//! types also derive `Deserialize` with `deny_unknown_fields` for the stored form.
//! References to other policies (existence, cycles, depth) are checked by [`super::graph`].

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{
    DEFAULT_TIMEOUT_MS, ErrorClass, KeySource, MAX_ENTRIES, MAX_RETRIES, MAX_TIMEOUT_MS,
    MAX_WEIGHT, ModelRef, Policy, Rule, Step, Sticky, Target, validate_policy_name,
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

const TOP_FIELDS: &[&str] = &[
    "name",
    "type",
    "steps",
    "targets",
    "sticky",
    "fallover_on",
    "deadline_ms",
    "version",
];
const STEP_FIELDS: &[&str] = &["model", "key_source", "retries", "timeout_ms"];
const TARGET_FIELDS: &[&str] = &["model", "key_source", "weight"];

fn object<'v>(value: &'v Value, param: &str) -> Result<&'v Map<String, Value>> {
    value.as_object().ok_or_else(|| {
        Error::invalid(
            param,
            if param.is_empty() {
                "the request body must be a JSON object".to_owned()
            } else {
                format!("{param} must be an object")
            },
        )
    })
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

fn deny_unknown(obj: &Map<String, Value>, allowed: &[&str], prefix: &str) -> Result<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(unknown) => {
            let param = join(prefix, unknown);
            Err(Error::invalid(
                &param,
                format!(
                    "unknown field `{param}`; expected one of: {}",
                    allowed.join(", ")
                ),
            ))
        }
    }
}

/// One field, typed; `null` counts as absent.
fn field<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    expected: &str,
) -> Result<Option<T>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(value).map(Some).map_err(|_| {
            let param = join(prefix, key);
            Error::invalid(&param, format!("{param} must be {expected}"))
        }),
    }
}

fn required<T>(value: Option<T>, param: &str) -> Result<T> {
    value.ok_or_else(|| Error::invalid(param, format!("{param} is required")))
}

const KEY_SOURCE_EXPECTED: &str = "one of own, platform, own_then_platform, platform_then_own";

/// Parse and validate a policy document.
pub fn parse_document(body: &Value, mode: ParseMode<'_>) -> Result<PolicyInput> {
    let obj = object(body, "")?;
    deny_unknown(obj, TOP_FIELDS, "")?;

    let given_name: Option<String> = field(obj, "name", "", "a string")?;
    let name = match mode {
        ParseMode::Create => {
            let name = required(given_name, "name")?;
            validate_policy_name(&name, "name")?;
            name
        }
        ParseMode::Update { name } => {
            if let Some(given) = given_name
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

    let version: Option<u64> = field(obj, "version", "", "a positive integer")?;
    match mode {
        ParseMode::Create if version.is_some() => {
            return Err(Error::invalid(
                "version",
                "version must not be given when creating a policy",
            ));
        }
        ParseMode::Update { .. } => {
            let v = required(version, "version")?;
            if v == 0 {
                return Err(Error::invalid(
                    "version",
                    "version must be a positive integer",
                ));
            }
        }
        ParseMode::Create => {}
    }

    let kind: String = required(
        field(obj, "type", "", "one of fallback, load_balance")?,
        "type",
    )?;
    let rule = match kind.as_str() {
        "fallback" => {
            forbid(obj, "targets", "a fallback policy has steps, not targets")?;
            forbid(
                obj,
                "sticky",
                "sticky applies only to load_balance policies",
            )?;
            Rule::Fallback {
                steps: parse_steps(obj)?,
            }
        }
        "load_balance" => {
            forbid(obj, "steps", "a load_balance policy has targets, not steps")?;
            let sticky: Sticky =
                field(obj, "sticky", "", "one of trace_id, user_id, none")?.unwrap_or_default();
            Rule::LoadBalance {
                targets: parse_targets(obj)?,
                sticky,
            }
        }
        _ => {
            return Err(Error::invalid(
                "type",
                "type must be one of fallback, load_balance",
            ));
        }
    };

    let fallover_on = parse_fallover(obj)?;
    let deadline_ms: Option<u64> = field(obj, "deadline_ms", "", "a positive integer")?;
    if let Some(d) = deadline_ms
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
            deadline_ms,
        },
        version,
    })
}

fn forbid(obj: &Map<String, Value>, key: &str, why: &str) -> Result<()> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(_) => Err(Error::invalid(key, format!("{key} is not allowed: {why}"))),
    }
}

fn entries<'v>(obj: &'v Map<String, Value>, key: &str) -> Result<&'v Vec<Value>> {
    let list = obj
        .get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| Error::invalid(key, format!("{key} is required")))?
        .as_array()
        .ok_or_else(|| Error::invalid(key, format!("{key} must be an array")))?;
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

fn model_of(obj: &Map<String, Value>, prefix: &str) -> Result<ModelRef> {
    let param = join(prefix, "model");
    let raw: String = required(field(obj, "model", prefix, "a string")?, &param)?;
    // An unknown bare name is a 404 in a request, but in a policy being saved it is invalid input.
    ModelRef::parse_as(&raw, &param).map_err(|mut e| {
        e.kind = crate::error::ErrorKind::InvalidRequest;
        e
    })
}

/// For a `policy/<name>` entry the nested policy decides these; giving them is an error, not ignored.
fn forbid_for_policy(obj: &Map<String, Value>, prefix: &str, keys: &[&str]) -> Result<()> {
    for key in keys {
        if obj.get(*key).is_some_and(|v| !v.is_null()) {
            let param = join(prefix, key);
            return Err(Error::invalid(
                &param,
                format!(
                    "{param} does not apply to a policy/<name> entry; the nested policy decides"
                ),
            ));
        }
    }
    Ok(())
}

fn parse_steps(obj: &Map<String, Value>) -> Result<Vec<Step>> {
    let mut steps: Vec<Step> = Vec::new();
    for (i, value) in entries(obj, "steps")?.iter().enumerate() {
        let prefix = format!("steps[{i}]");
        let step_obj = object(value, &prefix)?;
        deny_unknown(step_obj, STEP_FIELDS, &prefix)?;
        let model = model_of(step_obj, &prefix)?;
        let step = if model.policy_name().is_some() {
            forbid_for_policy(step_obj, &prefix, &["key_source", "retries", "timeout_ms"])?;
            Step {
                model,
                key_source: None,
                retries: None,
                timeout_ms: None,
            }
        } else {
            let key_source: KeySource =
                field(step_obj, "key_source", &prefix, KEY_SOURCE_EXPECTED)?
                    .unwrap_or(KeySource::DEFAULT);
            let retries: u32 = field(
                step_obj,
                "retries",
                &prefix,
                &format!("an integer from 0 to {MAX_RETRIES}"),
            )?
            .unwrap_or(0);
            if retries > MAX_RETRIES {
                let param = format!("{prefix}.retries");
                return Err(Error::invalid(
                    &param,
                    format!("{param} must be an integer from 0 to {MAX_RETRIES}"),
                ));
            }
            let timeout_ms: u64 = field(step_obj, "timeout_ms", &prefix, "a positive integer")?
                .unwrap_or(DEFAULT_TIMEOUT_MS);
            if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
                let param = format!("{prefix}.timeout_ms");
                return Err(Error::invalid(
                    &param,
                    format!("{param} must be between 1 and {MAX_TIMEOUT_MS}"),
                ));
            }
            Step {
                model,
                key_source: Some(key_source),
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

fn parse_targets(obj: &Map<String, Value>) -> Result<Vec<Target>> {
    let mut targets: Vec<Target> = Vec::new();
    for (i, value) in entries(obj, "targets")?.iter().enumerate() {
        let prefix = format!("targets[{i}]");
        let target_obj = object(value, &prefix)?;
        deny_unknown(target_obj, TARGET_FIELDS, &prefix)?;
        let model = model_of(target_obj, &prefix)?;
        let key_source = if model.policy_name().is_some() {
            forbid_for_policy(target_obj, &prefix, &["key_source"])?;
            None
        } else {
            Some(
                field(target_obj, "key_source", &prefix, KEY_SOURCE_EXPECTED)?
                    .unwrap_or(KeySource::DEFAULT),
            )
        };
        let weight_param = format!("{prefix}.weight");
        let weight: f64 = required(
            field(target_obj, "weight", &prefix, "a number greater than 0")?,
            &weight_param,
        )?;
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

fn parse_fallover(obj: &Map<String, Value>) -> Result<Option<Vec<ErrorClass>>> {
    let Some(raw) = obj.get("fallover_on").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let list = raw.as_array().ok_or_else(|| {
        Error::invalid(
            "fallover_on",
            "fallover_on must be an array of error classes",
        )
    })?;
    if list.is_empty() {
        return Err(Error::invalid(
            "fallover_on",
            "fallover_on must name at least one error class; omit it for the default",
        ));
    }
    let mut classes = Vec::new();
    for (i, value) in list.iter().enumerate() {
        let param = format!("fallover_on[{i}]");
        let class = ErrorClass::deserialize(value).map_err(|_| {
            Error::invalid(
                &param,
                format!(
                    "{param} must be one of timeout, connection_error, rate_limited, server_error, own_key_rejected, platform_key_rejected"
                ),
            )
        })?;
        if classes.contains(&class) {
            return Err(Error::invalid(&param, format!("{param} is listed twice")));
        }
        classes.push(class);
    }
    Ok(Some(classes))
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
