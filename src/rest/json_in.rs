//! A REST request into the RPC's request message: the JSON body (proto3 JSON mapping: both the
//! proto and the lowerCamelCase field names, 64-bit integers as strings or numbers) or, for a
//! call without a body, the query string. Every refusal names the field at fault.
use std::collections::HashMap;

use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};
use serde_json::{Map, Value};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::grpc::ERROR_DOMAIN;

/// The message a JSON body describes; an empty body is the empty message (`POST /users/logout/`
/// needs none).
pub fn from_body(input: &MessageDescriptor, body: &[u8]) -> Result<DynamicMessage, Status> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DynamicMessage::new(input.clone()));
    }
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        malformed(format!(
            "the request body is not JSON ({error}); send an object such as \
             {{\"phone_number\": \"+79123456789\"}}"
        ))
    })?;
    let Value::Object(fields) = value else {
        return Err(malformed(
            "the request body must be a JSON object of the request's fields".into(),
        ));
    };
    from_fields(input, fields)
}

/// The message a query string describes: `?referrals_page_size=10&referrals_page_token=...`.
/// Values are strings, which the proto3 JSON mapping accepts for numbers and booleans too.
pub fn from_query(input: &MessageDescriptor, query: &str) -> Result<DynamicMessage, Status> {
    let mut fields = Map::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if fields.contains_key(name.as_ref()) {
            return Err(bad_field(&name, "is given more than once"));
        }
        fields.insert(name.into_owned(), Value::String(value.into_owned()));
    }
    from_fields(input, fields)
}

/// Each field on its own first, so that a wrong value is reported under its field's name;
/// then the whole object.
fn from_fields(
    input: &MessageDescriptor,
    fields: Map<String, Value>,
) -> Result<DynamicMessage, Status> {
    let options = DeserializeOptions::new().deny_unknown_fields(true);
    let mut seen = HashMap::new();
    for (name, value) in &fields {
        let field = input
            .get_field_by_name(name)
            .or_else(|| input.get_field_by_json_name(name));
        let Some(field) = field else {
            let known: Vec<String> = input.fields().map(|f| f.name().to_owned()).collect();
            return Err(bad_field(
                name,
                &format!(
                    "is not a field of {} (fields: {})",
                    input.name(),
                    known.join(", ")
                ),
            ));
        };
        // `phone_number` and `phoneNumber` both name one field; two values would be a guess.
        if let Some(other) = seen.insert(field.number(), name) {
            return Err(bad_field(
                field.name(),
                &format!("is given twice, as {other} and {name}"),
            ));
        }
        let single = Value::Object(Map::from_iter([(name.clone(), value.clone())]));
        if let Err(error) =
            DynamicMessage::deserialize_with_options(input.clone(), single, &options)
        {
            return Err(bad_field(
                field.name(),
                &format!("has an invalid value: {error}"),
            ));
        }
    }
    DynamicMessage::deserialize_with_options(input.clone(), Value::Object(fields), &options)
        .map_err(|error| {
            malformed(format!(
                "the request does not fit {}: {error}",
                input.name()
            ))
        })
}

/// INVALID_ARGUMENT with a BadRequest naming `field` (the proto field name, as gRPC errors do).
pub fn bad_field(field: &str, problem: &str) -> Status {
    let mut details = ErrorDetails::new();
    let message = format!("{field} {problem}");
    details.add_bad_request_violation(field, message.clone());
    details.set_error_info("INVALID_FIELD", ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// INVALID_ARGUMENT for a request that is not the shape of any message.
pub fn malformed(message: String) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info("MALFORMED_REQUEST", ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(Code::InvalidArgument, message, details)
}

#[cfg(test)]
mod tests {
    use prost_reflect::Value as Field;

    use super::*;
    use crate::rest::descriptor_pool;

    fn message(name: &str) -> MessageDescriptor {
        descriptor_pool()
            .get_message_by_name(&format!("phoneauth.v1.{name}"))
            .unwrap()
    }

    fn violation(status: &Status) -> String {
        status.get_details_bad_request().unwrap().field_violations[0]
            .field
            .clone()
    }

    #[test]
    fn both_spellings_of_a_field_are_read() {
        for body in [
            r#"{"phone_number": "+7 912", "verification_code": "1234"}"#,
            r#"{"phoneNumber": "+7 912", "verificationCode": "1234"}"#,
        ] {
            let request = from_body(&message("VerifyCodeRequest"), body.as_bytes()).unwrap();
            let phone = request.get_field_by_name("phone_number").unwrap();
            assert_eq!(phone.as_ref(), &Field::String("+7 912".into()));
        }
    }

    #[test]
    fn a_wrong_value_or_an_unknown_field_is_named() {
        let input = message("RequestCodeRequest");
        let wrong = from_body(&input, br#"{"phoneNumber": 79123456789}"#).unwrap_err();
        assert_eq!(wrong.code(), Code::InvalidArgument);
        assert_eq!(violation(&wrong), "phone_number");
        let unknown = from_body(&input, br#"{"phone": "+79123456789"}"#).unwrap_err();
        assert_eq!(violation(&unknown), "phone");
        let twice = from_body(&input, br#"{"phone_number": "1", "phoneNumber": "2"}"#).unwrap_err();
        assert_eq!(violation(&twice), "phone_number");
        for junk in [&b"\xff\x00"[..], b"[1]", b"{\"phone_number\": "] {
            let status = from_body(&input, junk).unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        }
    }

    #[test]
    fn a_query_string_fills_numbers_and_strings() {
        let input = message("GetProfileRequest");
        let request =
            from_query(&input, "referrals_page_size=10&referralsPageToken=a%2Bb").unwrap();
        let size = request.get_field_by_name("referrals_page_size").unwrap();
        assert_eq!(size.as_ref(), &Field::U32(10));
        let token = request.get_field_by_name("referrals_page_token").unwrap();
        assert_eq!(token.as_ref(), &Field::String("a+b".into()));
        let negative = from_query(&input, "referrals_page_size=-1").unwrap_err();
        assert_eq!(violation(&negative), "referrals_page_size");
        assert!(from_query(&input, "").is_ok());
    }
}
