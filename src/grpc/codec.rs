//! The protobuf codec of the generated AuthService code (build.rs names it in `codec_path`).
//!
//! It is tonic-prost's codec with one change. A request that does not decode is the client's
//! mistake, so it gets INVALID_ARGUMENT in our words, with the usual details, and one log line.
//! tonic-prost answers INTERNAL and echoes the decoder's text ("failed to decode Protobuf
//! message: … invalid utf-8"). Such calls never reach a handler. The metrics layer counts them
//! by the status this returns.
use std::marker::PhantomData;

use prost::{Message, Name};
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::ProstEncoder;

/// tonic-prost's `ProstCodec`, but with [`ProtoDecoder`]'s answer to undecodable messages.
#[derive(Debug)]
pub struct ProtoCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for ProtoCodec<T, U> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<T, U> Codec for ProtoCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Name + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ProtoDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProtoDecoder(PhantomData)
    }
}

/// Decodes `U`; see the module docs for what it answers when that fails.
#[derive(Debug)]
pub struct ProtoDecoder<U>(PhantomData<U>);

impl<U: Message + Name + Default> Decoder for ProtoDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode(buf).map(Some).map_err(|error| {
            let message = U::full_name();
            match rpc_of(U::NAME) {
                Some(rpc) => {
                    tracing::info!(rpc, %error, "undecodable {message}: answered INVALID_ARGUMENT");
                    super::status::undecodable_request(&message)
                }
                // The generated client decodes the server's answers with this codec too; an
                // answer it cannot read is not the caller's fault.
                None => Status::internal(format!("the server's answer is not a valid {message}")),
            }
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}

/// The RPC whose request message is named `message`: every AuthService request type is named
/// after its RPC (a unit test holds the proto to that), and no answer type ends in "Request".
fn rpc_of(message: &str) -> Option<&str> {
    message.strip_suffix("Request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_types_are_named_after_their_rpc_and_answers_are_not() {
        let set = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set decodes");
        let service = set
            .file
            .iter()
            .flat_map(|file| &file.service)
            .find(|service| service.name() == "AuthService")
            .expect("AuthService is in the descriptor set");
        for method in &service.method {
            let input = method.input_type().rsplit('.').next().unwrap();
            let output = method.output_type().rsplit('.').next().unwrap();
            assert_eq!(rpc_of(input), Some(method.name()), "{input}");
            assert_eq!(rpc_of(output), None, "{output}");
        }
    }

    #[test]
    fn an_undecodable_request_is_invalid_argument_in_our_words() {
        use crate::proto::VerifyCodeRequest;
        // Field 1 (phone_number) holding two bytes that are not UTF-8.
        let bytes: &[u8] = &[0x0a, 0x02, 0xc3, 0x28];
        let error = VerifyCodeRequest::decode(bytes).unwrap_err();
        assert!(error.to_string().contains("UTF-8"), "{error}");
        let status = super::super::status::undecodable_request(&VerifyCodeRequest::full_name());
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "the request is not a valid phoneauth.v1.VerifyCodeRequest"
        );
    }
}
