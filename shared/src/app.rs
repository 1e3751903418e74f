//! Per-process state shared by every function: configuration, the two ports, the provider client, and the
//! authenticated-key cache every function's `Auth` uses. Built once per cold start (Lambda) or once per
//! `serve`. The router's own caches live in the router (`byok_router::Gateway`).

use std::sync::Arc;

use crate::cache::TtlCache;
use crate::cipher::Cipher;
use crate::cipher::kms::KmsCipher;
#[cfg(feature = "local")]
use crate::cipher::local::LocalCipher;
use crate::colocated::{Change, Colocated};
use crate::config::{Backend, Config};
use crate::domain::apikey::ApiKey;
use crate::domain::policy::{CooldownView, NoCooldown};
use crate::providers::ProviderClient;
use crate::store::Store;
use crate::store::dynamo::DynamoStore;
#[cfg(feature = "local")]
use crate::store::sqlite::SqliteStore;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Arc<dyn Store>,
    cipher: Arc<dyn Cipher>,
    /// Authenticated keys by secret hash (`None` = no such key), for `config.cache_ttl`.
    auth_cache: TtlCache<String, Option<Arc<ApiKey>>>,
    /// Built on first use: the policy and manage functions never call a provider, so their cold start
    /// does not pay for a TLS client.
    providers: std::sync::OnceLock<ProviderClient>,
    /// The router's caches when they share this process (the local server only; see `colocated`).
    colocated: std::sync::OnceLock<Arc<dyn Colocated>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot open the local data directory {path}: {source}")]
    Local {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the local store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error(
        "this build has no local backend (a Lambda function runs on DynamoDB and KMS): set BYOK_BACKEND=aws"
    )]
    NoLocalBackend,
}

impl AppState {
    pub fn new(config: Config, store: Arc<dyn Store>, cipher: Arc<dyn Cipher>) -> Self {
        let auth_cache = TtlCache::new(100_000, config.cache_ttl);
        let inner = Inner {
            config,
            store,
            cipher,
            auth_cache,
            providers: std::sync::OnceLock::new(),
            colocated: std::sync::OnceLock::new(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Build the ports the configuration names: SQLite + AES-GCM under the data dir, or DynamoDB + KMS.
    pub async fn from_config(config: Config) -> Result<Self, StartError> {
        crate::tls::use_roots(config.tls_roots);
        let (store, cipher): (Arc<dyn Store>, Arc<dyn Cipher>) = match &config.backend {
            #[cfg(not(feature = "local"))]
            Backend::Local { .. } => return Err(StartError::NoLocalBackend),
            #[cfg(feature = "local")]
            Backend::Local { data_dir } => {
                let local = |source| StartError::Local {
                    path: data_dir.display().to_string(),
                    source,
                };
                std::fs::create_dir_all(data_dir).map_err(local)?;
                let store = SqliteStore::open(&data_dir.join("gateway.db"))?;
                let cipher =
                    LocalCipher::open_or_create(&data_dir.join("master.key")).map_err(local)?;
                (Arc::new(store), Arc::new(cipher))
            }
            Backend::Aws { table, kms_key_id } => {
                // Bounded DynamoDB/KMS calls (BYOK_AWS_TIMEOUT_MS): a hung backend gives 503, not a hang.
                let sdk = crate::aws_sdk::load(config.aws_timeouts()).await;
                let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
                let cipher = KmsCipher::new(aws_sdk_kms::Client::new(&sdk), kms_key_id);
                (Arc::new(store), Arc::new(cipher))
            }
        };
        Ok(Self::new(config, store, cipher))
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub fn cipher(&self) -> &dyn Cipher {
        self.inner.cipher.as_ref()
    }

    /// The pooled provider client (base URLs from configuration only).
    pub fn providers(&self) -> &ProviderClient {
        self.inner
            .providers
            .get_or_init(|| ProviderClient::new(self.inner.config.providers.clone()))
    }

    /// Connect the router's caches running in this same process (the local server; see `colocated`).
    /// Only the first connection counts.
    pub fn connect(&self, router: Arc<dyn Colocated>) {
        let _ = self.inner.colocated.set(router);
    }

    /// Tell the router's caches in this process, if any, about a change made through the API.
    pub async fn changed(&self, change: Change<'_>) {
        if let Some(router) = self.inner.colocated.get() {
            router.changed(change).await;
        }
    }

    /// `org_id`'s view of the router's target health in this process (none on Lambda: the router's
    /// cooldowns live in its own instances).
    pub fn health<'a>(&'a self, org_id: &'a str) -> Box<dyn CooldownView + 'a> {
        match self.inner.colocated.get() {
            Some(router) => router.health(org_id),
            None => Box::new(NoCooldown),
        }
    }

    pub(crate) fn auth_cache(&self) -> &TtlCache<String, Option<Arc<ApiKey>>> {
        &self.inner.auth_cache
    }
}

/// What every function's `main` does first: JSON logs, configuration from the environment, the ports.
pub async fn start_from_env() -> Result<AppState, StartError> {
    crate::telemetry::init();
    let config = Config::from_env()?;
    AppState::from_config(config).await
}
