//! The listening sockets of `byok serve`: one per serving thread, all on the same address
//! (`SO_REUSEPORT`), so the kernel spreads new connections across the threads, as nginx's `reuseport` does.

use std::net::SocketAddr;
use std::num::NonZeroUsize;

use socket2::{Domain, Protocol, Socket, Type};

/// Pending connections each socket queues (Tokio's own `TcpListener::bind` takes 1,024).
const BACKLOG: i32 = 1024;

/// One serving thread per core the process may run on (its affinity and cgroup quota counted).
pub fn default_threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// `count` sockets listening on `addr`, as std listeners in non-blocking mode, for each serving thread to
/// register with its own runtime. With port 0 the first socket picks the port and the others take the
/// same one.
pub fn bind(addr: SocketAddr, count: NonZeroUsize) -> std::io::Result<Vec<std::net::TcpListener>> {
    if count.get() > 1 && addr.port() != 0 {
        // Sockets that share a port would let a second server (this one started twice) share it too, and
        // split the connections between two processes. A socket that does not share it is refused while
        // any other holds the port, shared or not: the port is free, or this start fails as a single
        // socket's would.
        drop(listen(addr, false)?);
    }
    let first = listen(addr, count.get() > 1)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..count.get() {
        listeners.push(listen(addr, true)?);
    }
    Ok(listeners)
}

fn listen(addr: SocketAddr, shared: bool) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As Tokio's and std's own listeners do on Unix: a restart may take the port while the last run's
    // connections linger in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    if shared {
        share_port(&socket)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

#[cfg(unix)]
fn share_port(socket: &Socket) -> std::io::Result<()> {
    socket.set_reuse_port(true)
}

#[cfg(not(unix))]
fn share_port(_: &Socket) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "more than one serving thread needs SO_REUSEPORT (a Unix system); use --threads 1",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_socket_listens_on_the_port_the_first_one_took() {
        let count = NonZeroUsize::new(3).unwrap();
        let listeners = bind("127.0.0.1:0".parse().unwrap(), count).unwrap();
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        assert_eq!(ports.len(), 3);
        assert_ne!(ports[0], 0);
        assert!(ports.iter().all(|&p| p == ports[0]), "{ports:?}");
        // Each is listening: a connection to the port is accepted by one of them.
        let listeners: Vec<_> = listeners
            .into_iter()
            .map(|l| tokio::net::TcpListener::from_std(l).unwrap())
            .collect();
        let _client = tokio::net::TcpStream::connect(("127.0.0.1", ports[0]))
            .await
            .unwrap();
        let accepts = listeners.iter().map(|l| Box::pin(l.accept()));
        let (accepted, _, _) = futures::future::select_all(accepts).await;
        accepted.unwrap();
    }

    #[test]
    fn a_second_server_cannot_take_a_port_a_server_holds_with_one_thread_or_several() {
        let counts = [NonZeroUsize::MIN, NonZeroUsize::new(2).unwrap()];
        for threads in counts {
            let first = bind("127.0.0.1:0".parse().unwrap(), threads).unwrap();
            let taken = first[0].local_addr().unwrap();
            for second in counts {
                let refused = bind(taken, second).unwrap_err();
                assert_eq!(
                    refused.kind(),
                    std::io::ErrorKind::AddrInUse,
                    "{threads} then {second}"
                );
            }
        }
    }
}
