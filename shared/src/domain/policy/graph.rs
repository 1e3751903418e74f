//! References between policies: existence, cycles, nesting depth and flattened size, checked on save.
//!
//! Errors are 422 (the document is well-formed, but refers to something that makes it unusable), naming
//! the entry (`steps[1].model`) where the problem starts. Two concurrent saves could still close a cycle
//! that neither save saw; [`super::route::resolve`] therefore also guards against cycles and depth.

use std::collections::{BTreeMap, HashMap};

use super::{MAX_DEPTH, MAX_ROUTE_LEN, ModelRef, Policy};
use crate::error::{Error, ErrorKind, Result};

/// Where nested policies are looked up (the caller's org only).
pub trait PolicySource {
    fn policy(&self, name: &str) -> Option<&Policy>;
}

impl PolicySource for BTreeMap<String, Policy> {
    fn policy(&self, name: &str) -> Option<&Policy> {
        self.get(name)
    }
}

impl PolicySource for HashMap<String, Policy> {
    fn policy(&self, name: &str) -> Option<&Policy> {
        self.get(name)
    }
}

/// A source that sees `policy` (as about to be saved) in place of its stored version.
pub(crate) struct WithPolicy<'a> {
    pub policy: &'a Policy,
    pub others: &'a dyn PolicySource,
}

impl PolicySource for WithPolicy<'_> {
    fn policy(&self, name: &str) -> Option<&Policy> {
        if name == self.policy.name {
            Some(self.policy)
        } else {
            self.others.policy(name)
        }
    }
}

enum Problem {
    Missing(String),
    Cycle(Vec<String>),
    TooDeep(Vec<String>),
    TooLong,
}

fn chain(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("policy/{n}"))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Number of attempts `name` expands to; `stack` holds the policies above it.
fn expand(
    source: &dyn PolicySource,
    name: &str,
    stack: &mut Vec<String>,
) -> Result<usize, Problem> {
    if stack.iter().any(|n| n == name) {
        let mut cycle = stack.clone();
        cycle.push(name.to_owned());
        return Err(Problem::Cycle(cycle));
    }
    if stack.len() >= MAX_DEPTH {
        let mut path = stack.clone();
        path.push(name.to_owned());
        return Err(Problem::TooDeep(path));
    }
    let policy = source
        .policy(name)
        .ok_or_else(|| Problem::Missing(name.to_owned()))?;
    stack.push(name.to_owned());
    let mut count = 0usize;
    for (_, model) in policy.entries() {
        count += match model {
            ModelRef::Model { .. } => 1,
            ModelRef::Policy(inner) => expand(source, inner, stack)?,
        };
        if count > MAX_ROUTE_LEN {
            return Err(Problem::TooLong);
        }
    }
    stack.pop();
    Ok(count)
}

/// Check `policy`'s references against the org's other policies: every `policy/<name>` exists, no cycle
/// (also none that only passes through other policies), at most [`MAX_DEPTH`] levels, and at most
/// [`MAX_ROUTE_LEN`] attempts once flattened.
pub fn check_references(policy: &Policy, others: &dyn PolicySource) -> Result<()> {
    let source = WithPolicy { policy, others };
    let unprocessable = |param: &str, message: String| {
        Error::new(ErrorKind::Unprocessable, format!("{param}: {message}")).with_param(param)
    };
    let list_param = match policy.rule {
        super::Rule::Fallback { .. } => "steps",
        super::Rule::LoadBalance { .. } => "targets",
    };
    let mut total = 0usize;
    for (param, model) in policy.entries() {
        let inner = match model {
            ModelRef::Model { .. } => {
                total += 1;
                continue;
            }
            ModelRef::Policy(inner) => inner,
        };
        let mut stack = vec![policy.name.clone()];
        match expand(&source, inner, &mut stack) {
            Ok(n) => total += n,
            Err(Problem::Missing(name)) => {
                return Err(unprocessable(
                    &param,
                    format!("policy/{name} does not exist in this organisation"),
                ));
            }
            Err(Problem::Cycle(names)) => {
                return Err(unprocessable(
                    &param,
                    format!(
                        "policies may not refer to each other in a cycle: {}",
                        chain(&names)
                    ),
                ));
            }
            Err(Problem::TooDeep(names)) => {
                return Err(unprocessable(
                    &param,
                    format!(
                        "policies may nest at most {MAX_DEPTH} levels deep: {}",
                        chain(&names)
                    ),
                ));
            }
            Err(Problem::TooLong) => total = MAX_ROUTE_LEN + 1,
        }
        if total > MAX_ROUTE_LEN {
            break;
        }
    }
    if total > MAX_ROUTE_LEN {
        return Err(unprocessable(
            list_param,
            format!(
                "the policy expands to more than {MAX_ROUTE_LEN} attempts once nested policies are included"
            ),
        ));
    }
    Ok(())
}

/// The policies among `all` that refer to `name` directly (to refuse deleting a policy still in use).
pub fn referencing<'a>(all: &'a [Policy], name: &str) -> Vec<&'a str> {
    all.iter()
        .filter(|p| p.name != name && p.references().contains(&name))
        .map(|p| p.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::policy::{ParseMode, parse_document};

    fn fallback(name: &str, models: &[&str]) -> Policy {
        let steps: Vec<_> = models.iter().map(|m| json!({"model": m})).collect();
        parse_document(
            &json!({"name": name, "type": "fallback", "steps": steps}),
            ParseMode::Create,
        )
        .unwrap()
        .policy
    }

    fn store(policies: &[Policy]) -> BTreeMap<String, Policy> {
        policies
            .iter()
            .map(|p| (p.name.clone(), p.clone()))
            .collect()
    }

    #[test]
    fn accepts_existing_acyclic_references() {
        let others = store(&[
            fallback("b", &["openai/x", "policy/c"]),
            fallback("c", &["xai/grok-4"]),
        ]);
        let a = fallback("a", &["anthropic/claude", "policy/b", "policy/c"]);
        check_references(&a, &others).unwrap();
    }

    #[test]
    fn rejects_missing_references_naming_the_entry() {
        let a = fallback("a", &["openai/x", "policy/ghost"]);
        let err = check_references(&a, &BTreeMap::new()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unprocessable);
        assert_eq!(err.param.as_deref(), Some("steps[1].model"));
        assert!(err.message.contains("policy/ghost"), "{}", err.message);
    }

    #[test]
    fn rejects_self_and_indirect_cycles() {
        let selfish = fallback("a", &["openai/x", "policy/a"]);
        let err = check_references(&selfish, &BTreeMap::new()).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("steps[1].model"));
        assert!(err.message.contains("cycle"), "{}", err.message);

        // b -> c -> a is stored; saving a -> b closes the loop.
        let others = store(&[
            fallback("a", &["openai/x"]),
            fallback("b", &["policy/c"]),
            fallback("c", &["openai/y", "policy/a"]),
        ]);
        let a = fallback("a", &["policy/b"]);
        let err = check_references(&a, &others).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unprocessable);
        assert!(
            err.message
                .contains("policy/a -> policy/b -> policy/c -> policy/a"),
            "{}",
            err.message
        );
        // The stored version of a (no reference) must not hide the new one.
        check_references(&fallback("a", &["openai/z"]), &others).unwrap();
    }

    #[test]
    fn rejects_deep_nesting_and_huge_expansions() {
        let others = store(&[
            fallback("l2", &["policy/l3"]),
            fallback("l3", &["policy/l4"]),
            fallback("l4", &["policy/l5"]),
            fallback("l5", &["openai/x"]),
        ]);
        let err = check_references(&fallback("l1", &["policy/l2"]), &others).unwrap_err();
        assert!(err.message.contains("levels"), "{}", err.message);
        check_references(&fallback("l2", &["policy/l3"]), &others).unwrap();

        let wide: Vec<String> = (0..16).map(|i| format!("openai/m{i}")).collect();
        let wide_refs: Vec<&str> = wide.iter().map(String::as_str).collect();
        let others = store(&[fallback("w", &wide_refs)]);
        let many = fallback(
            "many",
            &[
                "policy/w",
                "policy/w2",
                "policy/w3",
                "policy/w4",
                "policy/w5",
            ],
        );
        let mut with_copies = others.clone();
        for n in ["w2", "w3", "w4", "w5"] {
            with_copies.insert(n.into(), fallback(n, &wide_refs));
        }
        let err = check_references(&many, &with_copies).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("steps"));
    }

    #[test]
    fn finds_referencing_policies() {
        let all = [
            fallback("a", &["policy/c"]),
            fallback("b", &["openai/x"]),
            fallback("c", &["openai/x"]),
        ];
        assert_eq!(referencing(&all, "c"), vec!["a"]);
        assert!(referencing(&all, "a").is_empty());
    }
}
