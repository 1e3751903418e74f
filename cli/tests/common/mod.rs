//! Helpers shared by the CLI's integration tests.

use std::io::Write;
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_byok");

/// Run `command` (a `byok` invocation) with `stdin` written and closed, and collect its output. The
/// environment's `BYOK_BACKEND` is removed, so only the command's own flags choose the backend.
pub fn run(mut command: Command, stdin: Option<&str>) -> Output {
    let mut child = command
        .env_remove("BYOK_BACKEND")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run byok");
    if let Some(input) = stdin {
        // A command refused before it reads its input (an unknown provider, say) may have exited by the
        // time this writes: the pipe is then closed, which is that command's right, not a failure here.
        match child.stdin.take().unwrap().write_all(input.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            written => written.unwrap(),
        }
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}
