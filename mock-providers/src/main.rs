//! `mock-providers [--host 127.0.0.1] [--openai PORT] [--anthropic PORT] [--google PORT] [--xai PORT]`:
//! serve all four mocks (ephemeral ports unless given) and print their base URLs as one JSON line, e.g.
//! `{"openai":"http://127.0.0.1:40001",...}`. Runs until interrupted.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use byok_mock_providers::{Kind, MockProvider};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "mock-providers [--host 127.0.0.1] [--openai PORT] [--anthropic PORT] [--google PORT] [--xai PORT]"
        );
        return Ok(());
    }
    let host = arg(&args, "--host").unwrap_or_else(|| "127.0.0.1".into());
    let mut running = Vec::new();
    let mut urls = BTreeMap::new();
    for kind in Kind::ALL {
        let port = arg(&args, &format!("--{}", kind.as_str())).unwrap_or_else(|| "0".into());
        let addr: SocketAddr = format!("{host}:{port}").parse()?;
        let mock = MockProvider::start_on(kind, addr).await?;
        urls.insert(kind.as_str(), mock.base_url());
        running.push(mock);
    }
    println!("{}", serde_json::to_string(&urls)?);
    tokio::signal::ctrl_c().await?;
    Ok(())
}
