//! Mock LLM providers for tests, benchmarks and local demos: OpenAI, Anthropic, Google Gemini and xAI, each
//! speaking its real wire format (JSON, SSE, error bodies, `Retry-After`), scriptable per request and
//! recording every request it receives (headers included) so tests can assert which key reached which
//! provider.
//!
//! ```no_run
//! # async fn demo() {
//! use byok_mock_providers::{Behaviour, Kind, MockProvider};
//! let openai = MockProvider::start(Kind::OpenAi).await;
//! openai.script(Behaviour::status(429)); // the next request gets a 429 in OpenAI's error format
//! let url = openai.base_url();           // e.g. http://127.0.0.1:40123 (paths start with /v1)
//! let seen = openai.requests();          // method, path, headers, body of each request
//! # }
//! ```
//!
//! A request's behaviour is, in order of precedence: the JSON in its `x-mock-behaviour` header, the next
//! behaviour queued with [`MockProvider::script`] (or `POST /__mock/script`), the conventions in its model
//! name (see [`Behaviour::from_model`]), the default set with [`MockProvider::set_default`] (or
//! `POST /__mock/default`), else a deterministic success. `GET /__mock/requests` and `POST /__mock/reset`
//! serve other processes. A key containing `invalid` is rejected the way the provider rejects a bad key.
//!
//! Requests are validated as strictly as the real APIs do (see [`strict`]): unknown fields, unknown roles,
//! Anthropic beta fields without their `anthropic-beta`, orphan tool results and schema keywords Gemini
//! does not know are refused with the provider's own 400 body. Refused requests are recorded too.

mod behaviour;
pub mod prompt_cache;
mod server;
pub mod strict;
pub mod wire;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use behaviour::{Behaviour, MockUsage, ToolCallSpec};

/// Which provider a mock imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[serde(rename = "openai")]
    OpenAi,
    Anthropic,
    Google,
    Xai,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::OpenAi, Kind::Anthropic, Kind::Google, Kind::Xai];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OpenAi => "openai",
            Kind::Anthropic => "anthropic",
            Kind::Google => "google",
            Kind::Xai => "xai",
        }
    }
}

/// One request a mock received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Lower-case header names; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The JSON body, or `null`.
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[derive(Default)]
pub(crate) struct Shared {
    pub requests: Mutex<Vec<RecordedRequest>>,
    pub queue: Mutex<VecDeque<Behaviour>>,
    pub default: Mutex<Option<Behaviour>>,
    /// TCP connections accepted so far.
    pub connections: AtomicUsize,
    /// Anthropic prompt-cache prefixes written so far (see [`prompt_cache`]).
    pub prompt_cache: Mutex<std::collections::HashSet<u64>>,
}

/// A running mock provider on an ephemeral loopback port; stops when dropped.
pub struct MockProvider {
    kind: Kind,
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl MockProvider {
    /// Start on `127.0.0.1:0`.
    pub async fn start(kind: Kind) -> Self {
        Self::start_on(kind, "127.0.0.1:0".parse().expect("a socket address"))
            .await
            .expect("bind an ephemeral loopback port")
    }

    /// Start on a given address.
    pub async fn start_on(kind: Kind, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let app = server::router(kind, shared.clone());
        let counted = shared.clone();
        let task = tokio::spawn(async move {
            // TCP_NODELAY, as real providers' front ends do: without it Nagle holds a stream's next small
            // event until the previous one is acknowledged, adding up to a delayed ACK (~40 ms) per chunk.
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(move |tcp| {
                counted.connections.fetch_add(1, Ordering::Relaxed);
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            kind,
            addr,
            shared,
            task,
        })
    }

    /// How many TCP connections the mock has accepted (a pooled client reuses one).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// `http://127.0.0.1:<port>`, the value for `BYOK_<PROVIDER>_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().expect("requests lock").clone()
    }

    /// Queue a behaviour for the next request that has no `x-mock-behaviour` header.
    pub fn script(&self, behaviour: Behaviour) {
        self.shared
            .queue
            .lock()
            .expect("queue lock")
            .push_back(behaviour);
    }

    /// The behaviour of requests with nothing else scripted (`None`: a plain success).
    pub fn set_default(&self, behaviour: Option<Behaviour>) {
        *self.shared.default.lock().expect("default lock") = behaviour;
    }

    /// Forget recorded requests, queued behaviours and the default.
    pub fn reset(&self) {
        server::reset(&self.shared);
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}
