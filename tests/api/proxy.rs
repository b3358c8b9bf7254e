//! A TCP proxy a test puts between latchkey and PostgreSQL or Redis, to cut the
//! connection (every socket closed, new ones refused), stall it (sockets kept open but
//! nothing forwarded: a dead network) and restore it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

const UP: u8 = 0;
const CUT: u8 = 1;
const STALLED: u8 = 2;

pub struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Proxy {
    /// Listens on a free local port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let mode = Arc::new(AtomicU8::new(UP));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let accept = {
            let (mode, connections) = (Arc::clone(&mode), Arc::clone(&connections));
            tokio::spawn(async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else { continue };
                    let task = match mode.load(Ordering::SeqCst) {
                        CUT => {
                            let _ = client.shutdown().await;
                            continue;
                        }
                        // A dead network: the connection opens but nothing ever comes back.
                        STALLED => tokio::spawn(async move {
                            let _held = client;
                            std::future::pending::<()>().await;
                        }),
                        _ => {
                            let mode = Arc::clone(&mode);
                            tokio::spawn(async move {
                                let Ok(mut server) = TcpStream::connect(upstream).await else { return };
                                forward(&mut client, &mut server, &mode).await;
                            })
                        }
                    };
                    connections.lock().unwrap().push(task.abort_handle());
                }
            })
            .abort_handle()
        };
        Proxy { addr, mode, connections, accept }
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.mode.store(CUT, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Stops forwarding without closing anything, on open and new connections alike.
    pub fn stall(&self) {
        self.mode.store(STALLED, Ordering::SeqCst);
    }

    /// Forwards again (connections cut or stalled stay dead; new ones work).
    pub fn restore(&self) {
        self.mode.store(UP, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Copies both ways until either side closes or the proxy stalls.
async fn forward(client: &mut TcpStream, server: &mut TcpStream, mode: &AtomicU8) {
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let mut up = [0u8; 16 * 1024];
    let mut down = [0u8; 16 * 1024];
    use tokio::io::AsyncReadExt;
    loop {
        tokio::select! {
            n = client_read.read(&mut up) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if mode.load(Ordering::SeqCst) == STALLED {
                        std::future::pending::<()>().await;
                    }
                    if server_write.write_all(&up[..n]).await.is_err() {
                        return;
                    }
                }
            },
            n = server_read.read(&mut down) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if mode.load(Ordering::SeqCst) == STALLED {
                        std::future::pending::<()>().await;
                    }
                    if client_write.write_all(&down[..n]).await.is_err() {
                        return;
                    }
                }
            },
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
