//! The one error type of the domain. It knows nothing of HTTP; `http::error` maps it to a status and JSON.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed or invalid input (400).
    InvalidRequest,
    /// Missing, unknown, expired or revoked gateway key (401).
    Unauthenticated,
    /// The model has no price while the request would count against a limit or use a platform key (400).
    ModelNotPriced,
    /// Authenticated but not allowed (403).
    Forbidden,
    /// Absent, or not the caller's (404).
    NotFound,
    /// Already exists, or a stale version (409).
    Conflict,
    /// Monthly spend limit reached (412).
    SpendLimit,
    /// Request body too large (413).
    PayloadTooLarge,
    /// Well-formed but semantically refused, e.g. a provider rejected the key (422).
    Unprocessable,
    /// Too many requests (429).
    RateLimited,
    /// A provider failed and no fallback could absorb it (502).
    Upstream,
    /// A backing service (store, KMS) is unavailable (503).
    Unavailable,
    /// A deadline passed (504).
    Timeout,
    /// A bug or an unexpected state (500).
    Internal,
}

/// A domain error: what went wrong, for whom, and which input field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// The request field the error is about, when there is one (`provider`, `steps[1].model`, ...).
    pub param: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            param: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// 400 about one field; the message should name the field.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message).with_param(param)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// What a cache's `try_get_with` hands every waiter when the load failed: the one error, shared.
impl From<std::sync::Arc<Error>> for Error {
    fn from(shared: std::sync::Arc<Error>) -> Self {
        (*shared).clone()
    }
}
