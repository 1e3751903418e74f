//! Test support: the lines the code under test logs, through the production JSON layer.

use std::io;
use std::sync::{Arc, Mutex};

use tracing_subscriber::prelude::*;

/// The lines written while a [`Lines::capture`] guard lives, one JSON object each.
#[derive(Clone, Default)]
pub(crate) struct Lines(Arc<Mutex<Vec<u8>>>);

impl io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// Capture this thread's events at the `RUST_LOG`-style `directives` until the guard is dropped.
    pub fn capture(&self, directives: &str) -> tracing::subscriber::DefaultGuard {
        let lines = self.clone();
        let layer =
            super::layer(move || lines.clone()).with_filter(super::filter(Some(directives)));
        tracing::subscriber::set_default(tracing_subscriber::registry().with(layer))
    }

    pub fn written(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}
