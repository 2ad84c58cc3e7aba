//! Just enough HTTP/2, by hand, to send what a well-behaved client never sends: half a call,
//! or a `grpc-timeout` that tonic's client would enforce itself before the server could answer.
//!
//! Headers go out as HPACK literals without Huffman coding, which every decoder must accept.
//! Answers are not decoded (the server's HPACK uses Huffman coding); the tests read the status
//! from the server's metrics instead, and only watch here for the end of the stream.
use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;

/// One frame: its type, flags, stream and payload.
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

fn encode(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut frame = len.to_be_bytes()[1..].to_vec();
    frame.extend([kind, flags]);
    frame.extend(stream.to_be_bytes());
    frame.extend(payload);
    frame
}

/// An HPACK "literal header field without indexing — new name", without Huffman coding.
fn literal(name: &str, value: &str) -> Vec<u8> {
    assert!(
        name.len() < 127 && value.len() < 127,
        "one-byte lengths only"
    );
    let mut field = vec![0x00, name.len() as u8];
    field.extend(name.as_bytes());
    field.push(value.len() as u8);
    field.extend(value.as_bytes());
    field
}

/// A client connection that has sent the preface and its (empty) SETTINGS.
pub struct RawHttp2 {
    stream: TcpStream,
}

impl RawHttp2 {
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        let mut stream = TcpStream::connect(addr).await.expect("the server accepts");
        stream.write_all(PREFACE).await.unwrap();
        stream
            .write_all(&encode(SETTINGS, 0, 0, &[]))
            .await
            .unwrap();
        Self { stream }
    }

    /// Opens stream `id` as a gRPC call to `path` with `extra` headers. With `message`, the call
    /// is sent whole (one length-prefixed message, then END_STREAM); without, the body never
    /// comes.
    pub async fn call(
        &mut self,
        id: u32,
        path: &str,
        extra: &[(&str, &str)],
        message: Option<&[u8]>,
    ) {
        let mut block = Vec::new();
        for (name, value) in [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", "localhost"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ]
        .into_iter()
        .chain(extra.iter().copied())
        {
            block.extend(literal(name, value));
        }
        let mut bytes = encode(HEADERS, END_HEADERS, id, &block);
        if let Some(message) = message {
            let mut body = vec![0];
            body.extend((message.len() as u32).to_be_bytes());
            body.extend(message);
            bytes.extend(encode(DATA, END_STREAM, id, &body));
        }
        self.stream.write_all(&bytes).await.unwrap();
    }

    /// Sends a PING and returns once it is acknowledged: the server has read every frame sent
    /// before it (HTTP/2 processes a connection's frames in order).
    pub async fn sync(&mut self) {
        let data = *b"syncsync";
        self.stream
            .write_all(&encode(PING, 0, 0, &data))
            .await
            .unwrap();
        loop {
            let frame = self.next_frame().await.expect("the connection stays open");
            if frame.kind == PING && frame.flags & ACK != 0 && frame.payload == data {
                return;
            }
        }
    }

    /// Reads frames until stream `id` ends (trailers, or a reset), answering SETTINGS on the
    /// way; `None` when the connection closes first.
    pub async fn end_of(&mut self, id: u32) -> Option<Frame> {
        loop {
            let frame = self.next_frame().await?;
            let ends = (frame.kind == HEADERS && frame.flags & END_STREAM != 0)
                || frame.kind == RST_STREAM;
            if frame.stream == id && ends {
                return Some(frame);
            }
        }
    }

    /// Reads until the server closes the connection (a reset counts), within `within`.
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        let mut sink = Vec::new();
        tokio::time::timeout(within, self.stream.read_to_end(&mut sink))
            .await
            .is_ok()
    }

    async fn next_frame(&mut self) -> Option<Frame> {
        let mut header = [0u8; 9];
        self.stream.read_exact(&mut header).await.ok()?;
        let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let mut payload = vec![0; len];
        self.stream.read_exact(&mut payload).await.ok()?;
        let frame = Frame {
            kind: header[3],
            flags: header[4],
            stream: u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff,
            payload,
        };
        if frame.kind == SETTINGS && frame.flags & ACK == 0 {
            let ack = encode(SETTINGS, ACK, 0, &[]);
            self.stream.write_all(&ack).await.ok()?;
        }
        Some(frame)
    }
}
