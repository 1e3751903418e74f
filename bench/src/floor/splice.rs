//! The floor below HTTP: each caller connection gets its own upstream connection, and Tokio copies bytes
//! both ways (`copy_bidirectional`, TCP_NODELAY both ways) without reading a request. It is not a usable
//! proxy (no pooling, no routing); it prices the two loopback hops on the runtime alone.

use tokio::net::{TcpListener, TcpStream};

use crate::procs::Res;

pub async fn serve(listener: TcpListener, upstream: &str) -> Res<()> {
    let addr = upstream
        .strip_prefix("http://")
        .ok_or_else(|| format!("{upstream}: the splice floor needs an http:// upstream"))?
        .to_owned();
    loop {
        let (mut caller, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let addr = addr.clone();
        tokio::spawn(async move {
            let Ok(mut provider) = TcpStream::connect(&addr).await else {
                return;
            };
            let _ = caller.set_nodelay(true);
            let _ = provider.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut caller, &mut provider).await;
        });
    }
}
