//! Test support shared by every crate's integration tests.
//!
//! The AWS backends need the emulators that `scripts/test` starts: DynamoDB Local at
//! `BYOK_TEST_DYNAMODB_ENDPOINT` and moto (KMS) at `BYOK_TEST_KMS_ENDPOINT`. A test that needs one and does
//! not find its variable fails with a message saying how to run the suite; it never passes silently.

pub mod backends;
pub mod counting;
pub mod events;
pub mod faults;
pub mod fixtures;
pub mod http;
pub mod lambda;
pub mod logs;
pub mod routes;
pub mod runtime_api;
pub mod secrets;

pub use backends::{Backend, TestBackend};

/// Generate one `#[tokio::test]` per backend for each named `async fn(Backend)` in the calling module:
/// `embedded::<name>` on SQLite + AES-GCM and `aws::<name>` on DynamoDB Local + KMS (moto).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name($crate::Backend::Embedded).await })*
        }
        mod aws {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name($crate::Backend::Aws).await })*
        }
    };
}
