//! Page cursors: the last sort key returned, base64url-encoded, identical for both backends.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::StoreError;

pub fn encode_cursor(last_sk: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_sk.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Result<String, StoreError> {
    URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| StoreError::Invalid("malformed page cursor".into()))
}
