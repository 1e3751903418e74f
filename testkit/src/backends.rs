//! The two backends every contract and router test runs on.

use std::sync::Arc;

use byok_shared::AppState;
use byok_shared::cipher::Cipher;
use byok_shared::cipher::kms::KmsCipher;
use byok_shared::cipher::local::LocalCipher;
use byok_shared::config::{Backend as ConfigBackend, Config};
use byok_shared::store::Store;
use byok_shared::store::dynamo::DynamoStore;
use byok_shared::store::sqlite::SqliteStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite store + AES-GCM cipher in a temporary directory.
    Embedded,
    /// DynamoDB Local (a fresh table) + KMS on moto (a fresh key).
    Aws,
}

/// A store and cipher of one backend, alive as long as this value (temporary files are removed on drop).
pub struct TestBackend {
    pub backend: Backend,
    pub store: Arc<dyn Store>,
    pub cipher: Arc<dyn Cipher>,
    pub dir: tempfile::TempDir,
    /// The DynamoDB table (AWS backend), for raw scans in tests.
    pub table: Option<String>,
    pub dynamo: Option<aws_sdk_dynamodb::Client>,
    /// The KMS key on moto (AWS backend).
    pub kms_key_id: Option<String>,
}

fn endpoint(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: run the suite with scripts/test, which starts DynamoDB Local and moto")
    })
}

async fn sdk_config(endpoint_url: String) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(byok_shared::tls::aws_http_client())
        .endpoint_url(endpoint_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "testkit",
        ))
        .load()
        .await
}

pub async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(endpoint("BYOK_TEST_DYNAMODB_ENDPOINT")).await)
}

pub async fn kms_client() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config(endpoint("BYOK_TEST_KMS_ENDPOINT")).await)
}

/// A fresh symmetric KMS key on moto.
pub async fn kms_key(client: &aws_sdk_kms::Client) -> String {
    let out = client
        .create_key()
        .description("byok test key")
        .send()
        .await
        .expect("create KMS key on moto");
    out.key_metadata.expect("key metadata").key_id
}

impl TestBackend {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Embedded => {
                let store = SqliteStore::open(&dir.path().join("gateway.db")).expect("open sqlite");
                let cipher = LocalCipher::open_or_create(&dir.path().join("master.key"))
                    .expect("master key");
                Self {
                    backend,
                    store: Arc::new(store),
                    cipher: Arc::new(cipher),
                    dir,
                    table: None,
                    dynamo: None,
                    kms_key_id: None,
                }
            }
            Backend::Aws => {
                let client = dynamo_client().await;
                let table = format!(
                    "byok-test-{}",
                    ulid::Ulid::new().to_string().to_ascii_lowercase()
                );
                DynamoStore::create_table(&client, &table)
                    .await
                    .expect("create DynamoDB Local table");
                let kms = kms_client().await;
                let key_id = kms_key(&kms).await;
                Self {
                    backend,
                    store: Arc::new(DynamoStore::new(client.clone(), &table)),
                    cipher: Arc::new(KmsCipher::new(kms, key_id.clone())),
                    dir,
                    table: Some(table),
                    dynamo: Some(client),
                    kms_key_id: Some(key_id),
                }
            }
        }
    }

    /// The environment a function's `bootstrap` needs to use this (AWS) backend, as on Lambda: the table,
    /// the key, and service-specific endpoint URLs pointing at DynamoDB Local and moto.
    pub fn lambda_env(&self) -> Vec<(&'static str, String)> {
        let table = self
            .table
            .clone()
            .expect("lambda_env needs the AWS backend");
        vec![
            ("BYOK_BACKEND", "aws".into()),
            ("BYOK_TABLE", table),
            (
                "BYOK_KMS_KEY_ID",
                self.kms_key_id.clone().unwrap_or_default(),
            ),
            (
                "AWS_ENDPOINT_URL_DYNAMODB",
                endpoint("BYOK_TEST_DYNAMODB_ENDPOINT"),
            ),
            ("AWS_ENDPOINT_URL_KMS", endpoint("BYOK_TEST_KMS_ENDPOINT")),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// An application state on this backend, with provider URLs from `providers` (or the defaults).
    pub fn state(&self, configure: impl FnOnce(&mut Config)) -> AppState {
        let mut config = Config::local(self.dir.path().to_path_buf()).expect("config");
        config.backend = ConfigBackend::Local {
            data_dir: self.dir.path().to_path_buf(),
        };
        // The suites' operator lends its platform keys to every org unless a test says otherwise (the
        // shipped default is off; the entitlement's own tests turn it off or set it per org).
        config.platform_keys_default = true;
        configure(&mut config);
        AppState::new(config, self.store.clone(), self.cipher.clone())
    }

    /// Every byte the backend holds at rest, as text: the SQLite files, or a scan of the DynamoDB table.
    pub async fn raw_dump(&self) -> String {
        match (&self.dynamo, &self.table) {
            (Some(client), Some(table)) => {
                let mut out = String::new();
                let mut start = None;
                loop {
                    let page = client
                        .scan()
                        .table_name(table)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .expect("scan table");
                    out.push_str(&format!("{:?}", page.items()));
                    start = page.last_evaluated_key;
                    if start.is_none() {
                        break out;
                    }
                }
            }
            _ => {
                let mut out = String::new();
                for entry in std::fs::read_dir(self.dir.path())
                    .expect("read data dir")
                    .flatten()
                {
                    if entry.file_name() != "master.key" {
                        let bytes = std::fs::read(entry.path()).unwrap_or_default();
                        out.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
                out
            }
        }
    }
}
