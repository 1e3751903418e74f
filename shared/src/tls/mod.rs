//! TLS for the process's two HTTPS clients: the platform's CA roots, read once and shared by the provider
//! client (`reqwest`) and the AWS SDK's client.
//!
//! Left alone, each client loads the trust store itself at Lambda init: `reqwest`'s platform verifier and the
//! AWS SDK's connector each read, base64-decode and parse every certificate, and on Debian-style systems the
//! store holds each CA twice (the bundle and a file per CA). By `perf`, that was about 60 % of the router's
//! init. The roots follow the platform's rules as before (`SSL_CERT_FILE` / `SSL_CERT_DIR` when set, else the
//! system store), so an operator's own CA is trusted by both clients as it was.

mod aws;
mod roots;

pub use aws::aws_http_client;
use roots::native_pem;
pub use roots::provider_config;
