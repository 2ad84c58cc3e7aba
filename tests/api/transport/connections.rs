//! A flood of idle sockets cannot starve the server: a connection that does not send the HTTP/2
//! preface (or an HTTP/1.1 request head, `http1.rs`) within HANDSHAKE_TIMEOUT_SECONDS is closed, and past MAX_CONNECTIONS new connections
//! wait until a slot is free instead of taking memory and file descriptors.
use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::raw_http2::PREFACE;
use crate::helpers::{TestApp, phone};

/// Reads until the server closes the socket (EOF, or a reset); false if it is still open after
/// `within`.
async fn closed_by_server(socket: &mut TcpStream, within: Duration) -> bool {
    let mut sink = Vec::new();
    tokio::time::timeout(within, socket.read_to_end(&mut sink))
        .await
        .is_ok()
}

/// Whether the server wrote anything (its SETTINGS frame, sent as soon as it serves a
/// connection that has sent the HTTP/2 preface) within `within`.
async fn served_within(socket: &mut TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(within, socket.read(&mut byte)).await,
        Ok(Ok(1))
    )
}

#[tokio::test]
async fn connections_without_a_preface_are_closed_after_the_handshake_timeout() {
    let timeout = Duration::from_millis(500);
    let app = TestApp::spawn_with(&[("HANDSHAKE_TIMEOUT_SECONDS", "0.5")]).await;
    let opened = Instant::now();
    let mut sockets = Vec::new();
    for n in 0..20 {
        let mut socket = TcpStream::connect(app.addr).await.unwrap();
        if n % 2 == 1 {
            // Slowloris: part of the preface, then nothing.
            socket.write_all(&PREFACE[..10]).await.unwrap();
        }
        sockets.push(socket);
    }
    for socket in &mut sockets {
        assert!(
            closed_by_server(socket, timeout + Duration::from_secs(3)).await,
            "an idle socket is still open {:?} after it was opened",
            opened.elapsed()
        );
    }
    assert!(
        opened.elapsed() >= timeout - Duration::from_millis(100),
        "closed after {:?}, before the handshake timeout",
        opened.elapsed()
    );
    // A real client, which sends its preface at once, is served as before.
    app.login(&phone(1)).await;
}

#[tokio::test]
async fn past_max_connections_new_ones_wait_and_are_served_once_idle_ones_are_closed() {
    // Three slots: the test client's connection takes one, two idle sockets the rest.
    let app = TestApp::spawn_with(&[
        ("MAX_CONNECTIONS", "3"),
        ("HANDSHAKE_TIMEOUT_SECONDS", "1.5"),
    ])
    .await;
    let quick = Duration::from_millis(400);
    // One port serves HTTP/1.1 too, so the server writes nothing to a socket until it has shown
    // its protocol: an idle socket gets no SETTINGS. That these two were accepted shows below,
    // when the handshake timeout closes them (a socket still in the backlog is never closed).
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    let started = Instant::now();
    // Connections are accepted in order: this one comes after both idle sockets, and, as soon
    // as it is accepted, the HTTP/2 preface it has sent gets the server's SETTINGS.
    let mut waiting = TcpStream::connect(app.addr).await.unwrap();
    waiting.write_all(PREFACE).await.unwrap();
    assert!(
        !served_within(&mut waiting, quick).await,
        "a connection past the cap waits"
    );
    // The connections already open go on being served.
    app.request_code(&phone(1)).await;

    // A new client's call waits for a slot, and is served when the idle sockets are closed.
    let channel = app.channel().await;
    let mut client = phone_auth::proto::auth_service_client::AuthServiceClient::new(channel);
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        client.request_code(phone_auth::proto::RequestCodeRequest {
            phone_number: phone(2),
        }),
    )
    .await
    .expect("served once the idle sockets are closed")
    .expect("RequestCode succeeds");
    assert_eq!(response.into_inner().phone_number, phone(2));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "served after {:?}, before any slot was free",
        started.elapsed()
    );
    for socket in &mut idle {
        assert!(closed_by_server(socket, Duration::from_secs(1)).await);
    }
    assert!(
        served_within(&mut waiting, Duration::from_secs(3)).await,
        "the waiting connection got a freed slot"
    );
}
