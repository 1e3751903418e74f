//! The one-hop floor any gateway is measured against: Debian's nginx as a plain reverse proxy in front of
//! the same mock (one worker per core, a pooled keep-alive upstream, `proxy_buffering off` so streams pass
//! through chunk by chunk, no access log). Installed with apt-get when missing (as root), configured in a
//! temporary prefix, started and stopped by the bench.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::procs::{Res, free_port};

/// A running nginx; stopped (`nginx -s stop`, then killed) when dropped.
pub struct Nginx {
    exe: PathBuf,
    conf: PathBuf,
    prefix: PathBuf,
    master: Child,
    pub url: String,
}

impl Nginx {
    /// The master's pid (the workers are its children).
    pub fn pid(&self) -> u32 {
        self.master.id()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new(&self.exe)
            .arg("-p")
            .arg(&self.prefix)
            .arg("-c")
            .arg(&self.conf)
            .args(["-e", "stderr", "-s", "stop"])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.master.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.master.kill();
        let _ = self.master.wait();
    }
}

fn find() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// nginx's path, installing Debian's package when it is missing.
fn exe() -> Res<PathBuf> {
    if let Some(p) = find() {
        return Ok(p);
    }
    eprintln!("byok-bench: nginx missing, installing Debian's package (apt-get install nginx)");
    let ok = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "nginx"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("apt-get: {e}"))?
        .success();
    match find() {
        Some(p) if ok => Ok(p),
        _ => Err(
            "nginx is not installed and `apt-get install nginx` failed (run it as root, or pass \
                  --no-nginx)"
                .into(),
        ),
    }
}

fn config(prefix: &Path, listen: u16, upstream: &str) -> String {
    let p = prefix.display();
    format!(
        r#"daemon off;
master_process on;
worker_processes auto;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    keepalive_requests 1000000;
    upstream mock {{
        server {upstream};
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{listen};
        tcp_nodelay on;
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
}}
"#
    )
}

/// Start nginx in `prefix` as a reverse proxy for `upstream_url` (`http://127.0.0.1:<port>`).
pub fn start(prefix: &Path, upstream_url: &str) -> Res<Nginx> {
    let exe = exe()?;
    let upstream = upstream_url
        .strip_prefix("http://")
        .ok_or_else(|| format!("upstream {upstream_url:?} is not http://"))?
        .trim_end_matches('/');
    std::fs::create_dir_all(prefix).map_err(|e| e.to_string())?;
    let listen = free_port()?;
    let conf = prefix.join("nginx.conf");
    std::fs::write(&conf, config(prefix, listen, upstream)).map_err(|e| e.to_string())?;
    let master = Command::new(&exe)
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(&conf)
        .args(["-e", "stderr"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start nginx: {e}"))?;
    let mut nginx = Nginx {
        exe,
        conf,
        prefix: prefix.to_path_buf(),
        master,
        url: format!("http://127.0.0.1:{listen}"),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], listen));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        if let Ok(Some(status)) = nginx.master.try_wait() {
            let log = std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default();
            return Err(format!("nginx exited ({status}): {log}"));
        }
        if Instant::now() > deadline {
            return Err(format!("nginx did not listen on {listen} within 10 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(nginx)
}
