//! What a new connection must send within HANDSHAKE_TIMEOUT_SECONDS: its opening.
//!
//! One port serves native gRPC (HTTP/2) and gRPC-Web over HTTP/1.1 too, so the opening is one of:
//! - the HTTP/2 client preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`;
//! - the head of the first HTTP/1.1 request: its request line and headers, up to the empty line.
//!   Counting the whole head, not just its first bytes, keeps a client that trickles headers
//!   (slowloris) from holding a connection slot for longer than an idle socket could;
//! - under TLS, the first bytes of the ClientHello: tonic's TLS handshake timeout (the same
//!   HANDSHAKE_TIMEOUT_SECONDS) bounds the rest of the handshake, and hyper's own header read
//!   timeout (30 s) the request head inside it.
//!
//! Only a counter and a few flags are kept; no byte is buffered.

/// The HTTP/2 client preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The first byte of a TLS record carrying a handshake message (the ClientHello).
const TLS_HANDSHAKE: u8 = 0x16;

/// How much of its opening a connection has sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Opening {
    /// Every byte so far (this many) matches the HTTP/2 preface; nothing at all yet when 0.
    Preface(usize),
    /// A TLS ClientHello, of which this many bytes have arrived.
    Tls(usize),
    /// An HTTP/1.1 request head: whether a byte other than CR or LF has arrived yet, and how
    /// many line ends in a row the head ends with now (two mark its end).
    Http1Head { started: bool, line_ends: u8 },
    /// The opening is complete: from here on the protocol's own limits apply.
    Complete,
}

impl Opening {
    pub(super) fn new() -> Self {
        Opening::Preface(0)
    }

    pub(super) fn is_complete(self) -> bool {
        self == Opening::Complete
    }

    /// Takes the next bytes the connection sent.
    pub(super) fn read(mut self, bytes: &[u8]) -> Self {
        for &byte in bytes {
            self = self.next(byte);
            if self.is_complete() {
                break;
            }
        }
        self
    }

    fn next(self, byte: u8) -> Self {
        match self {
            Opening::Preface(0) if byte == TLS_HANDSHAKE => Opening::Tls(1),
            Opening::Preface(matched) if PREFACE[matched] == byte => match matched + 1 {
                done if done == PREFACE.len() => Opening::Complete,
                matched => Opening::Preface(matched),
            },
            // Not the preface after all ("POST" starts like "PRI"): read the bytes that matched
            // so far, then this one, as the start of an HTTP/1.1 request.
            Opening::Preface(matched) => PREFACE[..matched]
                .iter()
                .fold(Opening::http1(), |opening, &b| opening.next(b))
                .next(byte),
            Opening::Tls(received) if received + 1 >= PREFACE.len() => Opening::Complete,
            Opening::Tls(received) => Opening::Tls(received + 1),
            Opening::Http1Head { started, line_ends } => match byte {
                b'\n' if started && line_ends == 1 => Opening::Complete,
                b'\n' => Opening::Http1Head {
                    started,
                    line_ends: u8::from(started),
                },
                b'\r' => self,
                _ => Opening::Http1Head {
                    started: true,
                    line_ends: 0,
                },
            },
            Opening::Complete => Opening::Complete,
        }
    }

    fn http1() -> Self {
        Opening::Http1Head {
            started: false,
            line_ends: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(chunks: &[&[u8]]) -> Opening {
        chunks
            .iter()
            .fold(Opening::new(), |opening, chunk| opening.read(chunk))
    }

    #[test]
    fn the_http2_preface_completes_the_opening_in_any_chunks() {
        assert!(after(&[PREFACE]).is_complete());
        assert!(after(&[&PREFACE[..3], &PREFACE[3..20], &PREFACE[20..]]).is_complete());
        assert_eq!(after(&[&PREFACE[..10]]), Opening::Preface(10));
    }

    #[test]
    fn an_http1_request_completes_the_opening_only_with_its_whole_head() {
        let head = b"POST /phoneauth.v1.AuthService/GetProfile HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc-web\r\n\r\n";
        assert!(after(&[head]).is_complete());
        for cut in 1..head.len() {
            assert!(!after(&[&head[..cut]]).is_complete(), "{cut}");
            assert!(after(&[&head[..cut], &head[cut..]]).is_complete(), "{cut}");
        }
        // Bare LF line ends, as httparse accepts them.
        assert!(after(&[b"GET / HTTP/1.1\nhost: x\n\n"]).is_complete());
    }

    #[test]
    fn empty_lines_alone_do_not_complete_an_opening() {
        assert!(!after(&[b"\r\n\r\n\r\n\n\n"]).is_complete());
        assert!(after(&[b"\r\n\r\nGET / HTTP/1.1\r\n\r\n"]).is_complete());
    }

    #[test]
    fn a_tls_client_hello_completes_the_opening_after_as_many_bytes_as_the_preface() {
        let hello = [TLS_HANDSHAKE, 3, 1, 2, 0];
        assert_eq!(after(&[&hello]), Opening::Tls(5));
        assert!(after(&[&hello, &[0; 19]]).is_complete());
    }

    #[test]
    fn garbage_never_completes_an_opening() {
        assert!(!after(&[&[0u8; 4096]]).is_complete());
    }
}
