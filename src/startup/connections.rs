//! The accepted connections, bounded: at most MAX_CONNECTIONS are open, each must send its first
//! bytes within HANDSHAKE_TIMEOUT_SECONDS, and the shutdown drain can close them all.
//!
//! tonic's `TcpIncoming` accepts without a cap, and hyper waits for an HTTP/2 preface forever
//! (and 30 s for an HTTP/1.1 request head; [`super::opening`] says what counts as the opening);
//! a graceful shutdown then waits forever too, for a connection that never sent one or for a
//! call whose body never ends. So the server takes its connections from [`Connections`]
//! instead, and [`Drain`] decides when the waiting is over.
use std::{
    future::Future,
    io,
    pin::{Pin, pin},
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use tokio::{
    net::TcpListener,
    sync::{OwnedSemaphorePermit, Semaphore, watch},
    time::Sleep,
};
use tonic::codegen::tokio_stream::Stream;

use super::connection::{Connection, Phase};
use crate::config::TransportConfig;

/// How long accepting pauses after an error that is not about one connection (out of file
/// descriptors, say), so that the accept loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Wraps `listener`: the stream of connections to serve, and the handle that drains them.
pub(super) fn bounded(listener: TcpListener, config: &TransportConfig) -> (Connections, Drain) {
    let (phase, watching) = watch::channel(Phase::Serving);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let connections = Connections {
        listener,
        slots: slots.clone(),
        slot: None,
        waiting_for_slot: None,
        paused: None,
        at_capacity: false,
        max: config.max_connections,
        handshake_timeout: config.handshake_timeout,
        phase: watching,
    };
    let drain = Drain {
        phase,
        slots,
        max: config.max_connections,
    };
    (connections, drain)
}

/// Accepted connections, each holding one of the MAX_CONNECTIONS slots until it closes. With
/// every slot taken, accepting waits: new clients queue in the kernel's listen backlog (and
/// time out there by their own connect deadline) rather than being reset, so that a burst of
/// real clients is delayed, not refused, while idle sockets are reaped by the handshake timeout.
pub(super) struct Connections {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    /// A slot taken for the next connection while accept is pending.
    slot: Option<OwnedSemaphorePermit>,
    waiting_for_slot: Option<BoxFuture<OwnedSemaphorePermit>>,
    paused: Option<Pin<Box<Sleep>>>,
    /// Whether the cap has been reached since the last warning (one warning per episode).
    at_capacity: bool,
    max: usize,
    handshake_timeout: Duration,
    phase: watch::Receiver<Phase>,
}

impl Connections {
    fn poll_slot(&mut self, cx: &mut Context<'_>) -> Poll<OwnedSemaphorePermit> {
        if let Some(slot) = self.slot.take() {
            return Poll::Ready(slot);
        }
        if self.waiting_for_slot.is_none() {
            if let Ok(slot) = self.slots.clone().try_acquire_owned() {
                self.at_capacity = false;
                return Poll::Ready(slot);
            }
            if !std::mem::replace(&mut self.at_capacity, true) {
                tracing::warn!(
                    max_connections = self.max,
                    "MAX_CONNECTIONS connections are open: new ones wait until one closes"
                );
            }
            let slots = self.slots.clone();
            self.waiting_for_slot = Some(Box::pin(async move {
                slots
                    .acquire_owned()
                    .await
                    .expect("the connection semaphore is never closed")
            }));
        }
        let waiting = self.waiting_for_slot.as_mut().expect("set above");
        let slot = ready!(waiting.as_mut().poll(cx));
        self.waiting_for_slot = None;
        Poll::Ready(slot)
    }
}

impl Stream for Connections {
    type Item = io::Result<Connection>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(paused) = this.paused.as_mut() {
                ready!(paused.as_mut().poll(cx));
                this.paused = None;
            }
            let slot = ready!(this.poll_slot(cx));
            match this.listener.poll_accept(cx) {
                Poll::Pending => {
                    this.slot = Some(slot);
                    return Poll::Pending;
                }
                Poll::Ready(Ok((stream, _))) => {
                    // Nagle's algorithm would hold small gRPC frames back for the peer's
                    // delayed ACK (~40 ms per call).
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%error, "cannot set TCP_NODELAY");
                    }
                    let connection =
                        Connection::new(stream, slot, this.handshake_timeout, &this.phase);
                    return Poll::Ready(Some(Ok(connection)));
                }
                Poll::Ready(Err(error)) => {
                    this.slot = Some(slot);
                    if !matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::Interrupted
                    ) {
                        tracing::warn!(%error, "accepting a connection failed; pausing accepts");
                        this.paused = Some(Box::pin(tokio::time::sleep(ACCEPT_ERROR_PAUSE)));
                    }
                }
            }
        }
    }
}

/// The end of serving, for the connections: [`Drain::begin`] closes the ones still
/// handshaking (they carry no call), and [`Drain::within`] closes the rest at the deadline.
pub(super) struct Drain {
    phase: watch::Sender<Phase>,
    slots: Arc<Semaphore>,
    max: usize,
}

impl Drain {
    /// Shutdown has started: connections that have not sent their opening (no call yet) are
    /// closed now.
    pub(super) fn begin(&self) {
        self.phase.send_replace(Phase::Draining);
    }

    /// Connections open now.
    fn open(&self) -> usize {
        self.max - self.slots.available_permits()
    }

    /// Runs `serving` to its end, but once the drain has begun, for at most `grace`: then every
    /// connection still open is closed, which ends its calls, and `serving` returns.
    pub(super) async fn within<F: Future>(&self, grace: Duration, serving: F) -> F::Output {
        let mut serving = pin!(serving);
        let mut phase = self.phase.subscribe();
        tokio::select! {
            output = &mut serving => return output,
            _ = phase.wait_for(|phase| *phase >= Phase::Draining) => {}
        }
        tokio::select! {
            output = &mut serving => return output,
            () = tokio::time::sleep(grace) => {}
        }
        tracing::warn!(
            open_connections = self.open(),
            grace_seconds = grace.as_secs_f64(),
            "SHUTDOWN_GRACE_SECONDS passed: closing the connections still open"
        );
        self.phase.send_replace(Phase::Closed);
        serving.await
    }
}
