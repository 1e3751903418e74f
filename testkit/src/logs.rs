//! Capture every log line the process writes (JSON, as in production) so tests can scan them for secrets.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::prelude::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static BUFFER: OnceLock<Buffer> = OnceLock::new();

/// Install the capturing subscriber (once per test binary), at `debug` level so more is scanned.
pub fn capture() {
    BUFFER.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let layer = byok_shared::telemetry::layer(move || writer.clone())
            .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG);
        tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .expect("no other global subscriber in this test binary");
        buffer
    });
}

/// Everything logged so far.
pub fn captured() -> String {
    BUFFER
        .get()
        .map(|b| String::from_utf8_lossy(&b.0.lock().expect("log buffer")).into_owned())
        .unwrap_or_default()
}
