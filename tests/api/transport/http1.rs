//! HTTP/1.1 on the gRPC port (for gRPC-Web) keeps the idle-socket defence: a connection must send
//! the whole head of its first request within HANDSHAKE_TIMEOUT_SECONDS, however it trickles it.
use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::TestApp;

const HEAD: &[u8] = b"POST /phoneauth.v1.AuthService/RequestCode HTTP/1.1\r\nhost: test\r\ncontent-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\ncontent-length: 5\r\n\r\n";

#[tokio::test]
async fn an_http1_request_head_trickled_past_the_handshake_timeout_is_cut_off() {
    let timeout = Duration::from_millis(500);
    let app = TestApp::spawn_with(&[("HANDSHAKE_TIMEOUT_SECONDS", "0.5")]).await;
    let mut socket = TcpStream::connect(app.addr).await.unwrap();
    let opened = Instant::now();
    // Slowloris: the request line at once (more than an HTTP/2 preface's worth of bytes), then
    // a byte of the headers every 50 ms, never the empty line that ends them.
    let line_end = HEAD.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    socket.write_all(&HEAD[..line_end]).await.unwrap();
    let mut cut_off = None;
    for &byte in &HEAD[line_end..HEAD.len() - 2] {
        if socket.write_all(&[byte]).await.is_err() {
            cut_off = Some(opened.elapsed());
            break;
        }
        let mut answer = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(50), socket.read(&mut answer)).await {
            Err(_) => {}
            // EOF or a reset: the server closed it.
            Ok(Ok(0) | Err(_)) => {
                cut_off = Some(opened.elapsed());
                break;
            }
            Ok(Ok(_)) => panic!("the server answered half a request head"),
        }
    }
    let cut_off = cut_off.expect("the connection was still open after the whole trickle");
    assert!(
        cut_off >= timeout - Duration::from_millis(100) && cut_off < timeout * 4,
        "cut off after {cut_off:?}"
    );
}

#[tokio::test]
async fn an_http1_request_whose_head_arrives_in_time_is_served() {
    let app = TestApp::spawn_with(&[("HANDSHAKE_TIMEOUT_SECONDS", "0.5")]).await;
    let mut socket = TcpStream::connect(app.addr).await.unwrap();
    socket.write_all(HEAD).await.unwrap();
    // The body follows after the handshake timeout (a real sleep: the server's timer must run
    // out): the head was the opening, and the body is the call's, under the call's deadline.
    // The body is an empty RequestCodeRequest.
    tokio::time::sleep(Duration::from_millis(800)).await;
    socket.write_all(&[0, 0, 0, 0, 0]).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("grpc-status") {
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(read > 0, "closed without an answer: {answer:?}");
        answer.extend(&buf[..read]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("application/grpc-web"), "{answer}");
    // An empty phone number is refused in our words, as over native gRPC.
    assert!(answer.contains("grpc-status: 3"), "{answer}");
}
