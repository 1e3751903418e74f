//! Test support shared by every crate's integration tests.
//!
//! The AWS backends need the emulators that `scripts/test` starts: DynamoDB Local at
//! `BYOK_TEST_DYNAMODB_ENDPOINT` and moto (KMS) at `BYOK_TEST_KMS_ENDPOINT`. A test that needs one and does
//! not find its variable fails with a message saying how to run the suite; it never passes silently.

pub mod backends;
pub mod http;

pub use backends::{Backend, TestBackend};
