//! A TCP proxy the test controls, to take a dependency "down" without touching the machine's
//! shared PostgreSQL or Redis: `cut` drops every open connection and refuses new ones until
//! `restore`; `blackhole` keeps connections open (and accepts new ones) but forwards nothing,
//! as a dead route or a hung server does, so that only the client's own timeouts end a call.
use std::net::SocketAddr;

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

use crate::helpers::Backing;

/// What the proxy does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Up,
    /// Connections are closed at once.
    Cut,
    /// Connections stay open and silent.
    Blackhole,
    /// Open connections are closed; new ones are accepted and stay silent.
    ResetThenBlackhole,
}

impl Mode {
    fn is_silent(self) -> bool {
        matches!(self, Mode::Blackhole | Mode::ResetThenBlackhole)
    }
}

pub struct Proxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, watch) = watch::channel(Mode::Up);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let mut changes = watch.clone();
                let now = *watch.borrow();
                match now {
                    Mode::Cut => drop(client), // down: refuse by closing at once
                    Mode::Blackhole | Mode::ResetThenBlackhole => {
                        tokio::spawn(async move {
                            // Held open, never answered, until the mode changes.
                            let _ = changes.wait_for(|mode| !mode.is_silent()).await;
                            drop(client);
                        });
                    }
                    Mode::Up => {
                        tokio::spawn(async move {
                            let Ok(mut server) = TcpStream::connect(upstream).await else {
                                return;
                            };
                            let mut client = client;
                            let stopped = tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => None,
                                mode = changes.wait_for(|mode| *mode != Mode::Up) => mode.ok().map(|m| *m),
                            };
                            if stopped == Some(Mode::Blackhole) {
                                // Both sockets stay open, and nothing more is copied.
                                let _ = changes.wait_for(|mode| !mode.is_silent()).await;
                            }
                            // cut (or the end of a blackhole): both sockets drop here
                        });
                    }
                }
            }
        });
        Self { addr, mode, task }
    }

    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }

    /// Stops forwarding without closing anything: open connections go silent and new ones are
    /// accepted but never answered.
    pub fn blackhole(&self) {
        self.mode.send_replace(Mode::Blackhole);
    }

    /// Closes the open connections, then accepts new ones and never answers them: a server
    /// that went away behind a route that now drops everything. Clients must reconnect, and
    /// each reconnect hangs.
    pub fn reset_then_blackhole(&self) {
        self.mode.send_replace(Mode::ResetThenBlackhole);
    }

    pub fn restore(&self) {
        self.mode.send_replace(Mode::Up);
    }
}

impl Proxy {
    /// A proxy in front of the server `url` names, and the URL that reaches it through the proxy.
    async fn in_front_of(url: &str) -> (Self, String) {
        let proxy = Self::start(authority(url)).await;
        let url = via(url, proxy.addr);
        (proxy, url)
    }

    /// A proxy in front of `backing`'s database, which `backing` now reaches through it.
    pub async fn before_database(backing: &mut Backing) -> Self {
        let (proxy, url) = Self::in_front_of(&backing.database_url).await;
        backing.database_url = url;
        proxy
    }

    /// A proxy in front of `backing`'s Redis, which `backing` now reaches through it.
    pub async fn before_redis(backing: &mut Backing) -> Self {
        let (url, prefix) = backing.redis.clone().expect("TEST_REDIS_URL is set");
        let (proxy, url) = Self::in_front_of(&url).await;
        backing.redis = Some((url, prefix));
        proxy
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The host:port of a URL like scheme://user@host:port/path.
fn authority(url: &str) -> SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let host_port = rest.split('/').next().unwrap();
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, hp)| hp);
    let host_port = if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5432")
    };
    host_port
        .replace("localhost", "127.0.0.1")
        .parse()
        .expect("host:port")
}

/// `url` with its host:port replaced by `addr`.
fn via(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let user = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{user}{addr}/{path}")
}
