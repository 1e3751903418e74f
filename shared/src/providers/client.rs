//! The one HTTP client every provider call goes through: pooled, rustls, connect timeout, bounded bodies.
//!
//! A pooled connection is driven by a task on the runtime that opened it. `byok serve` runs one
//! single-threaded runtime per core, so each of its serving threads claims a pool of its own
//! ([`use_own_pool`]): a response read on one thread is then never handed over from another. Every other
//! thread (Lambda's one runtime, the CLI, tests) shares pool 0, one pool per process as before.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::endpoint::{Bases, Target};
use super::{
    AttemptPlan, ChatOutcome, ClientHeaders, Completed, ForwardedHeaders, MAX_JSON_BODY,
    ProviderError, RequestBody,
};
use crate::config::ProviderUrls;
use crate::domain::provider::Provider;
use crate::secret::Secret;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Largest error body read from a provider (errors are small; anything more is truncated).
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Timeout of the free `list_models` call.
const LIST_TIMEOUT: Duration = Duration::from_secs(15);

/// The most connection pools a client keeps: serving threads past the 63rd share theirs.
const MAX_POOLS: usize = 64;

thread_local! {
    /// This thread's pool (0 unless it claimed one).
    static POOL: Cell<usize> = const { Cell::new(0) };
}

/// Give the calling thread a connection pool of its own in every [`ProviderClient`] (`byok serve`'s
/// serving threads, `slot` counting them from 0; pool 0 stays with the threads that claim none).
pub fn use_own_pool(slot: usize) {
    POOL.with(|pool| pool.set(1 + slot % (MAX_POOLS - 1)));
}

/// Calls providers. Build one per process and share it: it holds the connection pools.
#[derive(Clone)]
pub struct ProviderClient {
    /// One pool per serving thread, each built on its first call (pool 0 at once).
    pools: Arc<[OnceLock<reqwest::Client>]>,
    urls: ProviderUrls,
    bases: Bases,
}

impl std::fmt::Debug for ProviderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderClient")
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

fn pooled_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(crate::tls::provider_config())
        .user_agent(concat!("byok-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with rustls builds")
}

impl ProviderClient {
    /// A pooled rustls client (on the process's shared CA roots) with a connect timeout. Per-call deadlines
    /// are given to each call.
    pub fn new(urls: ProviderUrls) -> Self {
        let pools: Arc<[OnceLock<reqwest::Client>]> =
            (0..MAX_POOLS).map(|_| OnceLock::new()).collect();
        // Built now: a client that cannot be built fails the start, not a request.
        let _ = pools[0].get_or_init(pooled_client);
        let bases = Bases::new(&urls);
        Self { pools, urls, bases }
    }

    /// The calling thread's connection pool.
    fn http(&self) -> &reqwest::Client {
        self.pools[POOL.with(Cell::get)].get_or_init(pooled_client)
    }

    /// One chat attempt; see the module notes for the contract.
    pub async fn chat(
        &self,
        key: &Secret,
        plan: &AttemptPlan<'_>,
        timeout: Duration,
    ) -> Result<ChatOutcome, ProviderError> {
        let call = Call {
            client: self,
            provider: plan.provider,
            key,
            timeout,
            forward: plan.is_passthrough().then_some(plan.headers),
        };
        match plan.provider {
            Provider::OpenAi | Provider::Xai => super::openai::chat(call, plan).await,
            Provider::Anthropic => super::anthropic::chat(call, plan).await,
            Provider::Google => super::google::chat(call, plan).await,
        }
    }

    /// Embeddings, OpenAI format in and out.
    pub async fn embeddings(
        &self,
        key: &Secret,
        plan: &AttemptPlan<'_>,
        timeout: Duration,
    ) -> Result<Completed, ProviderError> {
        let call = Call {
            client: self,
            provider: plan.provider,
            key,
            timeout,
            forward: None,
        };
        match plan.provider {
            Provider::OpenAi | Provider::Xai => super::openai::embeddings(call, plan).await,
            Provider::Google => super::google::embeddings(call, plan).await,
            Provider::Anthropic => Err(ProviderError::caller(
                "anthropic has no embeddings API; use an openai or google embedding model",
            )),
        }
    }

    /// The model ids the key can use: a free call, used to verify a key.
    pub async fn list_models(
        &self,
        provider: Provider,
        key: &Secret,
    ) -> Result<Vec<String>, ProviderError> {
        let call = Call {
            client: self,
            provider,
            key,
            timeout: LIST_TIMEOUT,
            forward: None,
        };
        match provider {
            Provider::OpenAi | Provider::Xai => super::openai::list_models(call).await,
            Provider::Anthropic => super::anthropic::list_models(call).await,
            Provider::Google => super::google::list_models(call).await,
        }
    }
}

/// One call's context, handed to an adapter.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub client: &'a ProviderClient,
    pub provider: Provider,
    pub key: &'a Secret,
    pub timeout: Duration,
    /// The client's headers, forwarded on a same-format passthrough only.
    pub forward: Option<&'a ClientHeaders>,
}

/// Longest client header value forwarded upstream.
const MAX_FORWARDED_VALUE: usize = 1024;
/// Most provider response headers passed on to the caller.
const MAX_PASSED_ON: usize = 16;

impl Call<'_> {
    /// Authentication and version headers of the provider; the key is marked sensitive.
    fn headers(&self) -> Result<HeaderMap, ProviderError> {
        let mut headers = HeaderMap::new();
        let secret = |value: String| {
            let mut v = HeaderValue::from_str(&value).map_err(|_| {
                ProviderError::new(
                    super::ErrorClass::KeyRejected,
                    format!(
                        "the {} key has characters a header cannot carry",
                        self.provider
                    ),
                )
            })?;
            v.set_sensitive(true);
            Ok::<_, ProviderError>(v)
        };
        match self.provider {
            Provider::OpenAi | Provider::Xai => {
                headers.insert(
                    http::header::AUTHORIZATION,
                    secret(format!("Bearer {}", self.key.expose()))?,
                );
            }
            Provider::Anthropic => {
                headers.insert(
                    HeaderName::from_static("x-api-key"),
                    secret(self.key.expose().to_owned())?,
                );
                let client = self.forward.cloned().unwrap_or_default();
                let version = client
                    .anthropic_version
                    .as_deref()
                    .and_then(forwardable)
                    .unwrap_or(HeaderValue::from_static(super::anthropic::VERSION));
                headers.insert(HeaderName::from_static("anthropic-version"), version);
                if let Some(beta) = client.anthropic_beta.as_deref().and_then(forwardable) {
                    headers.insert(HeaderName::from_static("anthropic-beta"), beta);
                }
            }
            Provider::Google => {
                headers.insert(
                    HeaderName::from_static("x-goog-api-key"),
                    secret(self.key.expose().to_owned())?,
                );
            }
        }
        Ok(headers)
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let http = self.client.http();
        let rb = match self.client.bases.get(self.provider).join(path) {
            Target::Parsed(url) => http.request(method, url),
            Target::Text(text) => http.request(method, text),
        };
        Ok(rb.headers(self.headers()?))
    }

    /// POST `body` and read a JSON answer within the call's timeout, with the headers to pass on.
    pub async fn post_json(
        &self,
        path: &str,
        body: &(impl serde::Serialize + ?Sized),
    ) -> Result<(Value, ForwardedHeaders), ProviderError> {
        let rb = self.request(reqwest::Method::POST, path)?.json(body);
        self.json(rb).await
    }

    /// GET a JSON answer within the call's timeout.
    pub async fn get_json(&self, path: &str) -> Result<Value, ProviderError> {
        let rb = self.request(reqwest::Method::GET, path)?;
        Ok(self.json(rb).await?.0)
    }

    /// POST `body` and read the whole answer as the provider wrote it: its top-level fields as raw text,
    /// checked as a `Value` parse would check them, built into a tree only if a translation asks for it.
    pub async fn post_answer(
        &self,
        path: &str,
        body: &(impl serde::Serialize + ?Sized),
    ) -> Result<(RequestBody, ForwardedHeaders), ProviderError> {
        let rb = self.request(reqwest::Method::POST, path)?.json(body);
        self.read(rb, |bytes| RequestBody::from_json(bytes).ok())
            .await
    }

    async fn json(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> Result<(Value, ForwardedHeaders), ProviderError> {
        self.read(rb, |bytes| serde_json::from_slice(bytes).ok())
            .await
    }

    /// Send, and read the whole answer (bounded) with `parse` (`None`: malformed), within the call's
    /// timeout.
    async fn read<T>(
        &self,
        rb: reqwest::RequestBuilder,
        parse: impl FnOnce(&[u8]) -> Option<T>,
    ) -> Result<(T, ForwardedHeaders), ProviderError> {
        let work = async {
            let resp = self.send(rb).await?;
            let headers = passed_on(self.provider, resp.headers());
            let body = read_bounded(self.provider, resp, MAX_JSON_BODY).await?;
            let answer = parse(&body).ok_or_else(|| {
                ProviderError::server(format!("{} sent a malformed JSON answer", self.provider))
            })?;
            Ok((answer, headers))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| ProviderError::timeout(self.provider))?
    }

    /// POST `body` and return the SSE body once the headers are in (within the call's timeout), with the
    /// headers to pass on.
    pub async fn post_stream(
        &self,
        path: &str,
        body: &(impl serde::Serialize + ?Sized),
    ) -> Result<
        (
            impl Stream<Item = Result<Bytes, ProviderError>> + Send + 'static,
            ForwardedHeaders,
        ),
        ProviderError,
    > {
        let rb = self
            .request(reqwest::Method::POST, path)?
            .header(http::header::ACCEPT, "text/event-stream")
            .json(body);
        let resp = tokio::time::timeout(self.timeout, self.send(rb))
            .await
            .map_err(|_| ProviderError::timeout(self.provider))??;
        let provider = self.provider;
        let headers = passed_on(provider, resp.headers());
        let bytes = resp
            .bytes_stream()
            .map(move |r| r.map_err(|e| ProviderError::transport(provider, &e)));
        Ok((bytes, headers))
    }

    /// Send; a non-2xx answer becomes a classified error.
    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
        let resp = rb
            .send()
            .await
            .map_err(|e| ProviderError::transport(self.provider, &e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let headers = resp.headers().clone();
        let body = read_bounded(self.provider, resp, MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        Err(ProviderError::from_response(
            self.provider,
            status.as_u16(),
            &headers,
            &body,
            self.key.expose(),
        ))
    }
}

/// Read a whole body, failing once it exceeds `limit` bytes.
async fn read_bounded(
    provider: Provider,
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ProviderError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ProviderError::server(format!(
            "{provider} answer is larger than {limit} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ProviderError::transport(provider, &e))?
    {
        if body.len() + chunk.len() > limit {
            return Err(ProviderError::server(format!(
                "{provider} answer is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A client header value fit to forward: visible ASCII, bounded.
fn forwardable(value: &str) -> Option<HeaderValue> {
    (value.len() <= MAX_FORWARDED_VALUE)
        .then(|| HeaderValue::from_str(value).ok())
        .flatten()
}

/// The provider response headers clients read: Anthropic's `request-id` and `anthropic-ratelimit-*`.
fn passed_on(provider: Provider, headers: &HeaderMap) -> ForwardedHeaders {
    if provider != Provider::Anthropic {
        return Vec::new();
    }
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name == "request-id" || name.starts_with("anthropic-ratelimit-")
        })
        .filter_map(|(name, value)| {
            let value = value.to_str().ok().filter(|v| v.len() <= 256)?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .take(MAX_PASSED_ON)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address of the pool `client` calls through on a new thread that claims `slot`'s (or none).
    fn pool_of(client: &ProviderClient, slot: Option<usize>) -> usize {
        let client = client.clone();
        std::thread::spawn(move || {
            if let Some(slot) = slot {
                use_own_pool(slot);
            }
            std::ptr::from_ref(client.http()) as usize
        })
        .join()
        .unwrap()
    }

    #[test]
    fn each_serving_thread_calls_through_its_own_pool_and_the_others_share_one() {
        let client = ProviderClient::new(ProviderUrls::default());
        let shared = pool_of(&client, None);
        assert_eq!(pool_of(&client, None), shared);
        let (first, second) = (pool_of(&client, Some(0)), pool_of(&client, Some(1)));
        assert_ne!(first, shared);
        assert_ne!(second, shared);
        assert_ne!(first, second);
        assert_eq!(pool_of(&client, Some(1)), second, "a slot's pool is kept");
        // Past the last pool, slots share: never more pools than MAX_POOLS.
        assert_eq!(pool_of(&client, Some(MAX_POOLS - 1)), first);
    }
}
