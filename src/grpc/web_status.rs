//! The `grpc-status` of a gRPC-Web response, read from its body.
//!
//! gRPC-Web has no HTTP trailers: tonic-web sends them as the body's last frame, a frame like a
//! message's (one flag byte, a 4-byte length) with the flag's top bit set, holding
//! `name:value\r\n` lines. In `application/grpc-web-text` the whole body is base64, one padded
//! chunk per frame. The metrics layer sits outside tonic-web, so it reads the status here.
//! (A trailers-only answer keeps its status in the response headers, as in native gRPC.)
use base64::Engine;
use tonic::Code;

/// The flag bit that marks the trailers frame.
const TRAILERS_BIT: u8 = 0x80;

/// Bytes in a frame's header: the flag and the big-endian length.
const FRAME_HEADER: usize = 5;

/// The largest trailers frame read; ours hold a status, a message and the error details, a few
/// hundred bytes. A larger one reads as UNKNOWN rather than grow a buffer.
const MAX_TRAILERS: usize = 64 * 1024;

/// Follows a gRPC-Web response body, frame by frame, to the status in its trailers frame.
#[derive(Debug)]
pub(super) struct WebStatus {
    /// Base64 characters not yet decoded (text mode only): fewer than a 4-character group.
    text: Option<Vec<u8>>,
    /// The frame header being read.
    header: Vec<u8>,
    /// Bytes of the current message frame still to skip.
    skip: usize,
    /// The trailers frame being read, and its length.
    trailers: Option<(usize, Vec<u8>)>,
}

impl WebStatus {
    /// A reader for a response of this `content-type`, when it is gRPC-Web.
    pub(super) fn for_content_type(content_type: Option<&http::HeaderValue>) -> Option<Self> {
        let content_type = content_type?.to_str().ok()?;
        let text = if content_type.starts_with("application/grpc-web-text") {
            true
        } else if content_type.starts_with("application/grpc-web") {
            false
        } else {
            return None;
        };
        Some(Self {
            text: text.then(Vec::new),
            header: Vec::with_capacity(FRAME_HEADER),
            skip: 0,
            trailers: None,
        })
    }

    /// Takes the next body bytes; returns the status once the trailers frame is complete.
    pub(super) fn read(&mut self, bytes: &[u8]) -> Option<Code> {
        let Some(pending) = self.text.as_mut() else {
            return self.read_frames(bytes);
        };
        pending.extend_from_slice(bytes);
        // Whole 4-character groups decode alone (a padded group ends a chunk), so decode each
        // run of groups that ends in padding, or at the last whole group.
        let whole = pending.len() / 4 * 4;
        let mut decoded = Vec::with_capacity(whole / 4 * 3);
        let mut start = 0;
        for end in (4..=whole).step_by(4) {
            if pending[end - 1] == b'=' || end == whole {
                match base64::engine::general_purpose::STANDARD.decode(&pending[start..end]) {
                    Ok(bytes) => decoded.extend(bytes),
                    // Not base64: no status can be read from it.
                    Err(_) => return Some(Code::Unknown),
                }
                start = end;
            }
        }
        pending.drain(..whole);
        self.read_frames(&decoded)
    }

    fn read_frames(&mut self, mut bytes: &[u8]) -> Option<Code> {
        while !bytes.is_empty() {
            if let Some((len, trailers)) = self.trailers.as_mut() {
                let take = (*len - trailers.len()).min(bytes.len());
                trailers.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if trailers.len() == *len {
                    return Some(status_in(trailers));
                }
                continue;
            }
            if self.skip > 0 {
                let take = self.skip.min(bytes.len());
                self.skip -= take;
                bytes = &bytes[take..];
                continue;
            }
            let take = (FRAME_HEADER - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < FRAME_HEADER {
                continue;
            }
            let len = u32::from_be_bytes([
                self.header[1],
                self.header[2],
                self.header[3],
                self.header[4],
            ]) as usize;
            let flag = self.header[0];
            self.header.clear();
            if flag & TRAILERS_BIT == 0 {
                self.skip = len;
            } else if len == 0 || len > MAX_TRAILERS {
                return Some(Code::Unknown);
            } else {
                self.trailers = Some((len, Vec::with_capacity(len)));
            }
        }
        None
    }
}

/// The status in a trailers frame's `name:value` lines; UNKNOWN without one, as a client reads it.
fn status_in(trailers: &[u8]) -> Code {
    trailers
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let (name, value) = line.split_at(colon);
            name.eq_ignore_ascii_case(b"grpc-status")
                .then(|| Code::from_bytes(value[1..].trim_ascii()))
        })
        .next()
        .unwrap_or(Code::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![flag];
        frame.extend((payload.len() as u32).to_be_bytes());
        frame.extend(payload);
        frame
    }

    fn body() -> Vec<Vec<u8>> {
        vec![
            frame(0, b"a message, with grpc-status:0 inside it"),
            frame(
                TRAILERS_BIT,
                b"grpc-status:8\r\ngrpc-message:slow%20down\r\n",
            ),
        ]
    }

    fn reader(content_type: &'static str) -> WebStatus {
        WebStatus::for_content_type(Some(&http::HeaderValue::from_static(content_type)))
            .expect("a gRPC-Web content type")
    }

    #[test]
    fn the_status_is_read_from_the_trailers_frame_in_any_chunks() {
        let bytes = body().concat();
        for cut in 0..bytes.len() {
            let mut status = reader("application/grpc-web+proto");
            let first = status.read(&bytes[..cut]);
            let second = status.read(&bytes[cut..]);
            assert_eq!(first.or(second), Some(Code::ResourceExhausted), "{cut}");
            assert_eq!(first.is_some(), cut == bytes.len(), "{cut}");
        }
    }

    #[test]
    fn text_mode_is_read_from_padded_base64_chunks_one_per_frame() {
        use base64::engine::general_purpose::STANDARD;
        let encoded: Vec<u8> = body()
            .iter()
            .flat_map(|frame| STANDARD.encode(frame).into_bytes())
            .collect();
        for cut in 0..encoded.len() {
            let mut status = reader("application/grpc-web-text+proto");
            let read = status
                .read(&encoded[..cut])
                .or(status.read(&encoded[cut..]));
            assert_eq!(read, Some(Code::ResourceExhausted), "{cut}");
        }
    }

    #[test]
    fn native_grpc_and_other_bodies_are_not_read() {
        for content_type in ["application/grpc", "application/json", "text/plain"] {
            let value = http::HeaderValue::from_static(content_type);
            assert!(WebStatus::for_content_type(Some(&value)).is_none());
        }
        assert!(WebStatus::for_content_type(None).is_none());
    }

    #[test]
    fn trailers_without_a_status_read_as_unknown() {
        let mut status = reader("application/grpc-web");
        let trailers = frame(TRAILERS_BIT, b"grpc-message:hm\r\n");
        assert_eq!(status.read(&trailers), Some(Code::Unknown));
    }
}
