//! The AWS SDK's HTTPS client: the SDK's `HttpClient` port on `reqwest`, the stack the provider client
//! already runs (hyper, rustls on aws-lc, the proxy from the environment), on the same shared roots.
//!
//! The SDK's own default client is a second hyper and rustls stack that takes its trust store only as PEM:
//! it base64-decoded and parsed every root again at Lambda init (about 13 % of the router's init by `perf`),
//! and it built its own connector. Here the SDK's requests go through a `reqwest::Client` per distinct
//! connector setting (in practice one), built from the roots already parsed for the provider client.
//!
//! The SDK keeps what it owns: signing, retries (an I/O or timeout error below is transient to it), the
//! operation and attempt timeouts. The connect and read timeouts it hands each connector are applied here.

use std::sync::Mutex;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

/// How long an idle connection to DynamoDB or KMS is kept (hyper's default, as the SDK's client had).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The SDK's HTTP client for every DynamoDB and KMS client of the process.
pub fn aws_http_client() -> SharedHttpClient {
    SharedHttpClient::new(ReqwestHttpClient::default())
}

/// One connector per distinct (connect timeout, read timeout): the SDK asks for a connector per operation,
/// so they are kept, as the SDK's own client keeps its.
#[derive(Debug, Default)]
struct ReqwestHttpClient {
    connectors: Mutex<Vec<(Timeouts, SharedHttpConnector)>>,
}

type Timeouts = (Option<Duration>, Option<Duration>);

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let timeouts = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, connector)) = connectors.iter().find(|(t, _)| *t == timeouts) {
            return connector.clone();
        }
        let connector = SharedHttpConnector::new(ReqwestConnector::new(timeouts));
        connectors.push((timeouts, connector.clone()));
        connector
    }
}

#[derive(Debug)]
struct ReqwestConnector {
    http: reqwest::Client,
}

impl ReqwestConnector {
    fn new((connect, read): Timeouts) -> Self {
        let mut builder = reqwest::Client::builder()
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(super::provider_config());
        if let Some(connect) = connect {
            builder = builder.connect_timeout(connect);
        }
        if let Some(read) = read {
            builder = builder.read_timeout(read);
        }
        let http = builder
            .build()
            .expect("a reqwest client with rustls builds");
        Self { http }
    }
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let http = self.http.clone();
        HttpConnectorFuture::new(async move {
            let request = to_reqwest(request)?;
            let response = http.execute(request).await.map_err(connector_error)?;
            from_reqwest(response)
        })
    }
}

/// The SDK's request as `reqwest`'s: in-memory bodies (every DynamoDB and KMS call) as bytes, any other
/// body streamed.
fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    let (parts, body) = request.into_parts();
    let body = match body.bytes() {
        Some(bytes) => reqwest::Body::from(Bytes::copy_from_slice(bytes)),
        None => reqwest::Body::wrap(body),
    };
    reqwest::Request::try_from(http::Request::from_parts(parts, body))
        .map_err(|e| ConnectorError::other(e.into(), None))
}

/// `reqwest`'s response as the SDK's, its body streamed as it arrives (the SDK reads and bounds it).
fn from_reqwest(response: reqwest::Response) -> Result<HttpResponse, ConnectorError> {
    let (parts, body) = http::Response::from(response).into_parts();
    HttpResponse::try_from(http::Response::from_parts(
        parts,
        SdkBody::from_body_1_x(body),
    ))
    .map_err(|e| ConnectorError::other(e.into(), None))
}

/// A timeout as a timeout and a failed connection or exchange as I/O: both are transient to the SDK's retry
/// classifier, as they were with its own client. Anything else (a request `reqwest` cannot build) is not.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}
