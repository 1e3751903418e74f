//! TLS for the process's HTTPS clients: one set of CA roots, built once and shared by the provider client
//! (`reqwest`) and the AWS SDK's client (the SDK's HTTP port on `reqwest` too, [`aws_http_client`]).
//!
//! Left alone, each client loads the trust store itself at Lambda init: `reqwest`'s platform verifier and the
//! AWS SDK's connector each read, base64-decode and parse every certificate, and on Debian-style systems the
//! store holds each CA twice (the bundle and a file per CA). By `perf`, that was about 60 % of the router's
//! init. Where the roots come from is [`RootsSource`]: the platform's (`SSL_CERT_FILE` / `SSL_CERT_DIR` when
//! set, else the system store), or on Lambda, unless those are set, Mozilla's roots compiled in.

mod aws;
mod roots;
mod source;

pub use aws::aws_http_client;
pub use roots::{provider_config, use_roots};
pub use source::RootsSource;
