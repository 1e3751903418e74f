//! The console's files, compiled into the binary from `functions/console/assets/`.

use std::sync::OnceLock;

pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    etag: OnceLock<String>,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, body: &'static [u8]) -> Self {
        Self {
            name,
            content_type,
            body,
            etag: OnceLock::new(),
        }
    }

    /// A strong validator from the content (FNV-1a, 64 bits): it changes whenever the file does.
    pub fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for byte in self.body {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
            format!("\"{hash:016x}-{:x}\"", self.body.len())
        })
    }
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset::new($name, $type, include_bytes!(concat!("../assets/", $name)))
    };
}

/// Every file under `/console/<name>`; the page itself is [`INDEX`].
pub static ASSETS: [Asset; 15] = [
    asset!("index.html", HTML),
    asset!("app.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("keys.js", JS),
    asset!("policies.js", JS),
    asset!("apikeys.js", JS),
    asset!("usage.js", JS),
    asset!("logs.js", JS),
    asset!("trend.js", JS),
    asset!("audit.js", JS),
    asset!("orgsettings.js", JS),
    asset!("session.js", JS),
    asset!("icon.svg", SVG),
];

pub static INDEX: &Asset = &ASSETS[0];

pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}
