//! Run every API Gateway fixture of a function through its router, in a given order, expecting a status each,
//! and hand back every response so the test checks what each one says.

use std::collections::BTreeMap;

use axum::Router;
use axum::http::StatusCode;

use crate::http::{Response, send};
use crate::lambda::{fixtures, request_from_event};

/// `expected` lists every fixture of `events/<function>/` with the status it must produce, in the order to
/// run them; `rewrite` may replace placeholder ids in a fixture's text with ids the test seeded. Returns each
/// fixture's response by fixture name: a status alone says little, so the caller checks the bodies.
#[must_use = "check the responses' bodies, not only their statuses"]
pub async fn run_fixtures(
    function: &str,
    app: &Router,
    key: &str,
    expected: &[(&str, StatusCode)],
    rewrite: impl Fn(&str) -> String,
) -> BTreeMap<String, Response> {
    assert!(
        std::env::var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_ok(),
        "run with AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true (scripts/test sets it; template.yaml sets it on Lambda)"
    );
    let all = fixtures(function);
    let mut names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    let mut listed: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    names.sort();
    listed.sort();
    assert_eq!(
        names, listed,
        "every fixture of events/{function} needs an expectation, and only those"
    );
    let mut responses = BTreeMap::new();
    for (name, status) in expected {
        let text = &all.iter().find(|(n, _)| n == name).expect("listed").1;
        let response = send(app, request_from_event(&rewrite(text), key)).await;
        assert_eq!(
            response.status, *status,
            "events/{function}/{name}: {}",
            response.text
        );
        responses.insert((*name).to_owned(), response);
    }
    responses
}
