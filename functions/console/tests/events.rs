//! Every API Gateway fixture in events/byok-console, parsed by lambda_http as on Lambda, through the
//! function's router. The fixtures carry no Authorization header (a browser loading the page), and
//! `request_from_event` adds none, so this also shows the console needs no gateway key.

use axum::http::StatusCode;
use byok_console::ASSETS;
use byok_testkit::{events, lambda::FIXTURE_KEY};

#[tokio::test]
async fn every_fixture_is_served() {
    let app = byok_console::app();
    let expected = [
        ("index.json", StatusCode::OK),
        ("asset.json", StatusCode::OK),
    ];
    let r = events::run_fixtures("byok-console", &app, FIXTURE_KEY, &expected, str::to_owned).await;
    // The page and the script, byte for byte what the binary embeds, each with its content type.
    for (fixture, name) in [("index.json", "index.html"), ("asset.json", "app.js")] {
        let asset = ASSETS.iter().find(|a| a.name == name).expect("embedded");
        let response = &r[fixture];
        assert_eq!(response.text.as_bytes(), asset.body, "{fixture}");
        assert_eq!(
            response.headers["content-type"], asset.content_type,
            "{fixture}"
        );
    }
}
