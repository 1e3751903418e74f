//! Both HTTPS clients trust the roots they share (`byok_shared::tls`), which follow `SSL_CERT_FILE`, on Lambda
//! too: an operator's own CA is trusted by the provider client and the AWS SDK's client alike, and a
//! certificate from any other CA is refused by both. On Lambda without `SSL_CERT_FILE`, both trust only the
//! bundled roots, so the operator's CA, not being one of them, is refused too.

use std::sync::Arc;

use byok_shared::Secret;
use byok_shared::config::ProviderUrls;
use byok_shared::domain::provider::Provider;
use byok_shared::providers::ProviderClient;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Answers both a provider's model list and DynamoDB's `ListTables` (each ignores the other's field).
const ANSWER: &str =
    r#"{"object":"list","data":[{"id":"gpt-test","object":"model"}],"TableNames":[]}"#;

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    /// A TLS server on 127.0.0.1 with a `localhost` certificate from this CA, answering every request with
    /// [`ANSWER`]; its port.
    async fn serve(&self) -> u16 {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let leaf = params.signed_by(&key, &self.issuer).unwrap();
        let chain = vec![CertificateDer::from(leaf.der().to_vec())];
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ANSWER}",
                        ANSWER.len()
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        port
    }
}

fn provider_client(port: u16) -> ProviderClient {
    let url = format!("https://localhost:{port}/v1");
    ProviderClient::new(ProviderUrls {
        openai: url.clone(),
        anthropic: url.clone(),
        google: url.clone(),
        xai: url,
    })
}

async fn dynamodb_list_tables(port: u16) -> Result<(), String> {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(byok_shared::tls::aws_http_client())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::for_tests())
        .endpoint_url(format!("https://localhost:{port}"))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .list_tables()
        .send()
        .await
        .map(drop)
        .map_err(|e| format!("{:?}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
}

/// The environment the client half reads: the ports of the two servers, and whether the operator's CA is to
/// be trusted.
const TRUSTED_PORT: &str = "BYOK_TEST_TLS_TRUSTED_PORT";
const UNTRUSTED_PORT: &str = "BYOK_TEST_TLS_UNTRUSTED_PORT";
const EXPECT_OPERATOR: &str = "BYOK_TEST_TLS_EXPECT_OPERATOR";

/// The servers run here; the clients run in a child process of this test binary (`clients`), since the roots
/// are read once per process from the environment it started with. Both children run as on Lambda (its
/// Runtime API variable set); the first with `SSL_CERT_FILE` naming the operator's CA and an empty
/// `SSL_CERT_DIR`, the second with neither.
#[tokio::test]
async fn both_clients_trust_the_operators_ca_and_nothing_else() {
    let operators = Ca::new("operator CA");
    let stranger = Ca::new("unknown CA");
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, operators.issuer.pem()).unwrap();
    let empty = dir.path().join("no-certs");
    std::fs::create_dir(&empty).unwrap();
    let trusted = operators.serve().await;
    let untrusted = stranger.serve().await;
    for with_file in [true, false] {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", "clients", "--ignored", "--nocapture"])
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
            .env_remove("BYOK_TLS_ROOTS")
            .env(TRUSTED_PORT, trusted.to_string())
            .env(UNTRUSTED_PORT, untrusted.to_string())
            .env(EXPECT_OPERATOR, if with_file { "1" } else { "0" });
        if with_file {
            child
                .env("SSL_CERT_FILE", &bundle)
                .env("SSL_CERT_DIR", &empty);
        } else {
            child.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
        }
        let out = tokio::task::spawn_blocking(move || child.output().unwrap())
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "with SSL_CERT_FILE: {with_file}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("test clients ... ok"),
            "the client half ran: {text}"
        );
    }
}

/// The client half of the test above, run by it in a child process (ignored, and a no-op, on its own).
#[tokio::test]
#[ignore = "run by both_clients_trust_the_operators_ca_and_nothing_else in a child process"]
async fn clients() {
    let port = |name| std::env::var(name).ok().and_then(|p| p.parse::<u16>().ok());
    let (Some(trusted), Some(untrusted)) = (port(TRUSTED_PORT), port(UNTRUSTED_PORT)) else {
        return;
    };
    let key = Secret::new("sk-test");
    if std::env::var(EXPECT_OPERATOR).as_deref() == Ok("1") {
        let models = provider_client(trusted)
            .list_models(Provider::OpenAi, &key)
            .await
            .expect("the provider client trusts the operator's CA");
        assert_eq!(models, ["gpt-test"]);
        dynamodb_list_tables(trusted)
            .await
            .expect("the AWS SDK's client trusts the operator's CA");
    } else {
        refused_by_both(trusted, &key).await;
    }
    refused_by_both(untrusted, &key).await;
}

/// Both clients refuse the server on `port`, for its certificate.
async fn refused_by_both(port: u16, key: &Secret) {
    let refused = provider_client(port)
        .list_models(Provider::OpenAi, key)
        .await
        .expect_err("a certificate from a CA not trusted is refused");
    assert!(
        format!("{refused:?}").contains("class: Connect"),
        "{refused:?}"
    );
    let refused = dynamodb_list_tables(port)
        .await
        .expect_err("the AWS SDK's client refuses it too");
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");
}
