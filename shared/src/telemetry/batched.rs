//! The local server's log writer: a line costs its caller an append to a shared buffer, and a writer
//! thread writes what gathered every few milliseconds in one `write` to the output.
//!
//! `tracing-appender`'s writer (used before) sends each line over a channel to its thread. Between the
//! lines of a busy server that thread spun (`sched_yield`) and slept, so nearly every line cost a futex
//! wake-up of it and a context switch: 3.7 % of `serve`'s CPU per request at c=32, by perf. Here the thread
//! is woken once per batch, by the line that finds the buffer empty, and sleeps while nothing is logged.
//!
//! Nothing is dropped and memory is bounded: a caller that finds the buffer over [`HIGH_WATER`] writes the
//! buffer out itself. Lines leave in the order they were appended: whoever takes the buffer holds the output
//! before it lets go of the buffer. Dropping the [`Guard`] writes what is left; lines logged after that are
//! written at once.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the writer thread lets lines gather after the first one of a batch.
const LINGER: Duration = Duration::from_millis(5);

/// Bytes the buffer may hold before a logging caller writes it out itself (a few thousand access lines).
const HIGH_WATER: usize = 1024 * 1024;

/// The buffer's initial capacity (each of the two buffers: the one filling and the one being written).
const INITIAL: usize = 64 * 1024;

struct State {
    lines: Vec<u8>,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Rung when a line lands in an empty buffer, and at close.
    ring: Condvar,
    out: Mutex<Box<dyn Write + Send>>,
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Write `lines` (taken from the state while it was locked) while holding the output, which was
    /// locked before the state was released.
    fn write(out: &mut MutexGuard<'_, Box<dyn Write + Send>>, lines: &[u8]) {
        if lines.is_empty() {
            return;
        }
        // A log that cannot be written (stderr closed) has nowhere to report it either.
        let _ = out.write_all(lines);
        let _ = out.flush();
    }

    fn append(&self, line: &[u8]) {
        let mut state = lock(&self.state);
        if state.closed {
            let mut out = lock(&self.out);
            drop(state);
            Self::write(&mut out, line);
            return;
        }
        let was_empty = state.lines.is_empty();
        state.lines.extend_from_slice(line);
        if state.lines.len() >= HIGH_WATER {
            let mut out = lock(&self.out);
            let lines = std::mem::take(&mut state.lines);
            drop(state);
            Self::write(&mut out, &lines);
        } else if was_empty {
            self.ring.notify_one();
        }
    }

    /// The writer thread: wait for a line, let others gather, write them all; until closed.
    fn run(&self) {
        let mut spare = Vec::with_capacity(INITIAL);
        let mut state = lock(&self.state);
        loop {
            while state.lines.is_empty() && !state.closed {
                state = self
                    .ring
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if !state.closed {
                drop(state);
                std::thread::sleep(LINGER);
                state = lock(&self.state);
            }
            let closed = state.closed;
            let mut out = lock(&self.out);
            std::mem::swap(&mut state.lines, &mut spare);
            drop(state);
            Self::write(&mut out, &spare);
            drop(out);
            spare.clear();
            if closed {
                return;
            }
            state = lock(&self.state);
        }
    }
}

/// The [`tracing_subscriber::fmt::MakeWriter`] of a batched log; cheap to clone.
#[derive(Clone)]
pub struct Batched(Arc<Shared>);

/// Keep until exit: dropping it writes the lines still gathered and stops the writer thread.
pub struct Guard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A batched log over `out`, with its writer thread started.
pub fn batched(out: impl Write + Send + 'static) -> io::Result<(Batched, Guard)> {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            lines: Vec::with_capacity(INITIAL),
            closed: false,
        }),
        ring: Condvar::new(),
        out: Mutex::new(Box::new(out)),
    });
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn({
            let shared = shared.clone();
            move || shared.run()
        })?;
    Ok((
        Batched(shared.clone()),
        Guard {
            shared,
            thread: Some(thread),
        },
    ))
}

impl Drop for Guard {
    fn drop(&mut self) {
        lock(&self.shared.state).closed = true;
        self.shared.ring.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One event's writer: the fmt layer formats a whole line, then writes it in one call.
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.append(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Batched {
    type Writer = Line<'a>;
    fn make_writer(&'a self) -> Line<'a> {
        Line(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// What reached the output.
    #[derive(Clone, Default)]
    struct Out(Arc<Mutex<Vec<u8>>>);

    impl Write for Out {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Out {
        fn text(&self) -> String {
            String::from_utf8(lock(&self.0).clone()).unwrap()
        }
    }

    fn log(writer: &Batched, line: &str) {
        writer.make_writer().write_all(line.as_bytes()).unwrap();
    }

    #[test]
    fn every_line_arrives_whole_and_in_each_callers_order() {
        let out = Out::default();
        let (writer, guard) = batched(out.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        log(&writer, &format!("{{\"thread\":{t},\"line\":{i}}}\n"));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = out.text();
        let mut next = [0; 4];
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let t = v["thread"].as_u64().unwrap() as usize;
            assert_eq!(v["line"], next[t], "thread {t} out of order");
            next[t] += 1;
        }
        assert_eq!(next, [2000; 4]);
    }

    #[test]
    fn the_thread_writes_without_being_stopped() {
        let out = Out::default();
        let (writer, _guard) = batched(out.clone()).unwrap();
        log(&writer, "one\n");
        let deadline = Instant::now() + Duration::from_secs(5);
        while out.text().is_empty() {
            assert!(Instant::now() < deadline, "the line was never written");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(out.text(), "one\n");
        // And again, once the first batch was written and the buffer emptied.
        log(&writer, "two\n");
        while out.text() != "one\ntwo\n" {
            assert!(
                Instant::now() < deadline,
                "the second line was never written"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_full_buffer_is_written_by_the_caller_before_it_returns() {
        let out = Out::default();
        let (writer, _guard) = batched(out.clone()).unwrap();
        let big = format!("{}\n", "x".repeat(HIGH_WATER));
        log(&writer, &big);
        // No waiting: the caller found the buffer over the mark and wrote it itself.
        assert_eq!(out.text(), big);
    }

    #[test]
    fn lines_after_the_guard_is_dropped_are_written_at_once() {
        let out = Out::default();
        let (writer, guard) = batched(out.clone()).unwrap();
        log(&writer, "before\n");
        drop(guard);
        assert_eq!(out.text(), "before\n");
        log(&writer, "after\n");
        assert_eq!(out.text(), "before\nafter\n");
    }
}
