//! A request body held to gRPC unary framing: exactly one length-prefixed message, whole.
//!
//! tonic's unary server reads the first message and then drains the body, decoding and
//! dropping any further message, and it takes a body that ends right after a length prefix as
//! a clean end. So a call could smuggle a second message past every check, or end in the middle
//! of one, and still be served. This body fails instead, with our INVALID_ARGUMENT, which
//! tonic answers as it is (a body's `Status` error reaches the client whole).
use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use http_body::{Body, Frame, SizeHint};
use prost::bytes::{Buf, Bytes};
use tonic::Status;

use crate::grpc::status;

/// The 5 bytes before each message: a compressed-flag byte and a big-endian u32 length.
const PREFIX: usize = 5;

/// Where the body is in gRPC's framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    /// `read` bytes into a length prefix (0: between messages).
    Prefix { read: usize, length: [u8; 4] },
    /// `left` bytes short of the end of a message.
    Message { left: u64 },
}

pin_project_lite::pin_project! {
    /// `inner`, failing at the second message or at an end inside a message.
    pub struct OneMessage<B> {
        #[pin]
        inner: B,
        position: Position,
        messages: u32,
    }
}

impl<B> OneMessage<B> {
    pub fn new(inner: B) -> Self {
        Self {
            inner,
            position: Position::Prefix {
                read: 0,
                length: [0; 4],
            },
            messages: 0,
        }
    }
}

/// Advances `position` over `data`; an error when a second message begins.
fn advance(position: &mut Position, messages: &mut u32, mut data: &[u8]) -> Result<(), Status> {
    while !data.is_empty() {
        match position {
            Position::Prefix { read, length } => {
                if *read == 0 {
                    *messages += 1;
                    if *messages > 1 {
                        return Err(status::malformed_call(status::MORE_THAN_ONE_MESSAGE));
                    }
                }
                let taken = (PREFIX - *read).min(data.len());
                for (offset, byte) in data[..taken].iter().enumerate() {
                    // Byte 0 is the flag, which tonic checks; 1..5 are the length.
                    if let Some(slot) = (*read + offset).checked_sub(1) {
                        length[slot] = *byte;
                    }
                }
                *read += taken;
                data.advance(taken);
                if *read == PREFIX {
                    let left = u64::from(u32::from_be_bytes(*length));
                    *position = Position::Message { left };
                }
            }
            Position::Message { left } => {
                let taken = (*left).min(data.len() as u64);
                *left -= taken;
                data.advance(taken as usize);
            }
        }
        if *position == (Position::Message { left: 0 }) {
            *position = Position::Prefix {
                read: 0,
                length: [0; 4],
            };
        }
    }
    Ok(())
}

impl<B> Body for OneMessage<B>
where
    B: Body<Data = Bytes, Error = Status>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        Poll::Ready(match frame {
            Some(Ok(frame)) => match frame.data_ref() {
                Some(data) => match advance(this.position, this.messages, data) {
                    Ok(()) => Some(Ok(frame)),
                    Err(status) => Some(Err(status)),
                },
                None => Some(Ok(frame)),
            },
            // An end between messages is tonic's to judge (no message at all included).
            None if matches!(this.position, Position::Prefix { read: 0, .. }) => None,
            None => Some(Err(status::malformed_call(status::CUT_SHORT))),
            Some(Err(error)) => Some(Err(error)),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream() && matches!(self.position, Position::Prefix { read: 0, .. })
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Result<Position, Status> {
        let mut position = Position::Prefix {
            read: 0,
            length: [0; 4],
        };
        let mut messages = 0;
        for chunk in chunks {
            advance(&mut position, &mut messages, chunk)?;
        }
        Ok(position)
    }

    const BETWEEN: Position = Position::Prefix {
        read: 0,
        length: [0; 4],
    };

    #[test]
    fn one_message_in_any_chunks_ends_between_messages() {
        let framed: &[u8] = &[0, 0, 0, 0, 2, 0x08, 0x01];
        assert_eq!(run(&[framed]).unwrap(), BETWEEN);
        let bytes: Vec<&[u8]> = framed.chunks(1).collect();
        assert_eq!(run(&bytes).unwrap(), BETWEEN);
        assert_eq!(
            run(&[&[0, 0, 0, 0, 0]]).unwrap(),
            BETWEEN,
            "an empty message"
        );
    }

    #[test]
    fn a_second_message_fails_at_its_first_byte() {
        let error = run(&[&[0, 0, 0, 0, 0], &[0]]).unwrap_err();
        assert_eq!(error.message(), status::MORE_THAN_ONE_MESSAGE);
    }

    #[test]
    fn an_end_inside_a_prefix_or_a_message_is_not_between_messages() {
        assert_ne!(run(&[&[0, 0, 0]]).unwrap(), BETWEEN);
        assert_eq!(
            run(&[&[0, 0, 0, 0, 3, 1]]).unwrap(),
            Position::Message { left: 2 }
        );
    }
}
