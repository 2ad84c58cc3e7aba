//! One accepted connection as hyper sees it: a TCP stream that fails its reads and writes once
//! it must close, which makes hyper drop it (and the socket, and its slot) at once.
use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::{OwnedSemaphorePermit, watch},
};
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::opening::Opening;

/// Where the server is in its life, as the connections see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
    Serving,
    /// Shutdown has started; connections that have not sent their first bytes close.
    Draining,
    /// The drain deadline passed; every connection closes.
    Closed,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// An accepted TCP connection with its deadlines (see the module docs).
pub(super) struct Connection {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    /// Until the connection's [`Opening`] is complete: how much of it has arrived, and what
    /// ends the wait for the rest (the handshake timeout, or the start of the drain).
    opening: Option<(Opening, BoxFuture<&'static str>)>,
    /// Completes when the drain deadline passes (or the server is gone).
    drain_deadline: BoxFuture<()>,
    /// Why the connection is being closed, once it is.
    closing: Option<&'static str>,
}

impl Connection {
    pub(super) fn new(
        stream: TcpStream,
        slot: OwnedSemaphorePermit,
        handshake_timeout: Duration,
        phase: &watch::Receiver<Phase>,
    ) -> Self {
        let mut draining = phase.clone();
        let opening_deadline = Box::pin(async move {
            tokio::select! {
                () = tokio::time::sleep(handshake_timeout) => "no HTTP/2 preface or HTTP/1.1 request head within HANDSHAKE_TIMEOUT_SECONDS",
                _ = draining.wait_for(|phase| *phase >= Phase::Draining) => "shutting down before the connection's first request",
            }
        });
        let mut closed = phase.clone();
        let drain_deadline = Box::pin(async move {
            // An error means the server is gone: close too.
            let _ = closed.wait_for(|phase| *phase == Phase::Closed).await;
        });
        Self {
            stream,
            _slot: slot,
            opening: Some((Opening::new(), opening_deadline)),
            drain_deadline,
            closing: None,
        }
    }

    /// Fails once the connection must close; until then registers `cx` to be woken when it must.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.closing.is_none() {
            if self.drain_deadline.as_mut().poll(cx).is_ready() {
                self.closing = Some("SHUTDOWN_GRACE_SECONDS passed");
            } else if let Some((_, deadline)) = self.opening.as_mut()
                && let Poll::Ready(reason) = deadline.as_mut().poll(cx)
            {
                tracing::debug!(
                    peer = ?self.stream.peer_addr().ok(),
                    reason,
                    "closing a connection"
                );
                self.closing = Some(reason);
            }
        }
        match self.closing {
            Some(reason) => Err(io::Error::new(io::ErrorKind::TimedOut, reason)),
            None => Ok(()),
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if let Some((opening, _)) = this.opening.as_mut() {
            *opening = opening.read(&buf.filled()[before..]);
            if opening.is_complete() {
                this.opening = None;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    /// The TCP addresses, as tonic gives them for a plain `TcpStream`: `Request::remote_addr`
    /// (and so the client address the limits key on) works unchanged.
    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}
