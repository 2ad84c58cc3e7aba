//! A decoded answer as proto3 JSON, written as prost-reflect writes it (every field without
//! presence, its default included; lowerCamelCase names; 64-bit integers as strings; enums by
//! name), but with `google.protobuf.Timestamp` formatted here. prost-reflect turns each
//! Timestamp into a `prost_types::Timestamp` by encoding and decoding it, then formats it
//! through `core::fmt`: a profile's answer holds 21 of them, and that was a fifth of a REST
//! GetProfile's server CPU (`perf` in docs/performance.md). Other well-known types and
//! messages with map fields are left to prost-reflect whole.
use base64::{Engine, engine::general_purpose::STANDARD};
use prost_reflect::{DynamicMessage, Kind, ReflectMessage, SerializeOptions, Value};
use serde::{
    Serialize, Serializer,
    ser::{Error, SerializeMap, SerializeSeq},
};

/// prost-reflect's settings for what is left to it: the same mapping as ours.
pub const OPTIONS: SerializeOptions = SerializeOptions::new().skip_default_fields(false);

/// `message` in the proto3 JSON mapping.
pub struct Json<'a>(pub &'a DynamicMessage);

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let descriptor = self.0.descriptor();
        let name = descriptor.full_name();
        if name == "google.protobuf.Timestamp" {
            return timestamp(self.0, serializer);
        }
        if name.starts_with("google.protobuf.") || descriptor.fields().any(|f| f.is_map()) {
            return self.0.serialize_with_options(serializer, &OPTIONS);
        }
        let mut map = serializer.serialize_map(None)?;
        for field in descriptor.fields() {
            // A field with presence (a message, `optional`, a oneof member) only when set.
            if field.supports_presence() && !self.0.has_field(&field) {
                continue;
            }
            let value = self.0.get_field(&field);
            let kind = field.kind();
            map.serialize_entry(field.json_name(), &Field(&value, &kind))?;
        }
        map.end()
    }
}

/// One value of a field, with the field's kind (which names an enum's values).
struct Field<'a>(&'a Value, &'a Kind);

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Bool(value) => serializer.serialize_bool(*value),
            Value::I32(value) => serializer.serialize_i32(*value),
            Value::U32(value) => serializer.serialize_u32(*value),
            Value::I64(value) => serializer.collect_str(value),
            Value::U64(value) => serializer.collect_str(value),
            Value::F32(value) => float(f64::from(*value), serializer),
            Value::F64(value) => float(*value, serializer),
            Value::String(value) => serializer.serialize_str(value),
            Value::Bytes(value) => serializer.serialize_str(&STANDARD.encode(value)),
            Value::EnumNumber(number) => match self.1 {
                Kind::Enum(enum_type) => match enum_type.get_value(*number) {
                    Some(value) => serializer.serialize_str(value.name()),
                    None => serializer.serialize_i32(*number),
                },
                _ => Err(S::Error::custom("an enum value of a field that is no enum")),
            },
            Value::Message(message) => Json(message).serialize(serializer),
            Value::List(values) => {
                let mut list = serializer.serialize_seq(Some(values.len()))?;
                for value in values {
                    list.serialize_element(&Field(value, self.1))?;
                }
                list.end()
            }
            // Messages with map fields are serialized by prost-reflect (see `Json`).
            Value::Map(_) => Err(S::Error::custom("a map outside a map field")),
        }
    }
}

fn float<S: Serializer>(value: f64, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        v if v.is_finite() => serializer.serialize_f64(v),
        f64::INFINITY => serializer.serialize_str("Infinity"),
        f64::NEG_INFINITY => serializer.serialize_str("-Infinity"),
        _ => serializer.serialize_str("NaN"),
    }
}

/// RFC 3339 in UTC, as `prost_types::Timestamp`'s Display writes it: no fraction, or 3, 6 or 9
/// digits of it. The JSON mapping allows years 0001 to 9999 only.
fn timestamp<S: Serializer>(message: &DynamicMessage, serializer: S) -> Result<S::Ok, S::Error> {
    let seconds = match message.get_field_by_number(1).as_deref() {
        Some(Value::I64(seconds)) => *seconds,
        _ => 0,
    };
    let nanos = match message.get_field_by_number(2).as_deref() {
        Some(Value::I32(nanos)) => *nanos,
        _ => 0,
    };
    const MIN: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(MIN..=MAX).contains(&seconds) || !(0..1_000_000_000).contains(&nanos) {
        return Err(S::Error::custom(
            "a timestamp outside 0001-01-01 to 9999-12-31",
        ));
    }
    serializer.serialize_str(&rfc3339(seconds, nanos as u32))
}

fn rfc3339(seconds: i64, nanos: u32) -> String {
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(30);
    push_digits(&mut out, year as u32, 4);
    out.push('-');
    push_digits(&mut out, month, 2);
    out.push('-');
    push_digits(&mut out, day, 2);
    out.push('T');
    push_digits(&mut out, (second_of_day / 3600) as u32, 2);
    out.push(':');
    push_digits(&mut out, (second_of_day / 60 % 60) as u32, 2);
    out.push(':');
    push_digits(&mut out, (second_of_day % 60) as u32, 2);
    match nanos {
        0 => {}
        n if n % 1_000_000 == 0 => (out.push('.'), push_digits(&mut out, n / 1_000_000, 3)).1,
        n if n % 1_000 == 0 => (out.push('.'), push_digits(&mut out, n / 1_000, 6)).1,
        n => (out.push('.'), push_digits(&mut out, n, 9)).1,
    }
    out.push('Z');
    out
}

fn push_digits(out: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        out.push(char::from(b'0' + (value / 10u32.pow(place) % 10) as u8));
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The same text as prost-reflect's own serializer, on every timestamp the mapping
        /// allows (and every precision of the fraction).
        #[test]
        fn timestamps_read_as_prost_types_writes_them(
            seconds in -62_135_596_800i64..=253_402_300_799,
            nanos in prop_oneof![Just(0i32), (0i32..1000).prop_map(|n| n * 1_000_000),
                                 (0i32..1_000_000).prop_map(|n| n * 1000), 0i32..1_000_000_000],
        ) {
            let theirs = prost_types::Timestamp { seconds, nanos }.to_string();
            prop_assert_eq!(rfc3339(seconds, nanos as u32), theirs);
        }
    }

    /// Whole answers, defaults, nested messages, lists and enums included, come out as
    /// prost-reflect writes them.
    #[test]
    fn messages_serialize_as_prost_reflect_serializes_them() {
        use prost::Message;

        use crate::proto::{Profile, Referral};
        let referral = |id: i64| Referral {
            phone_number: format!("+7912000000{id}"),
            joined_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000 + id,
                nanos: 0,
            }),
            invited_at: Some(prost_types::Timestamp {
                seconds: 1_700_000_100,
                nanos: 5_000,
            }),
        };
        let profiles = [
            Profile::default(),
            Profile {
                user_id: 7,
                invite_code: "ABC234".into(),
                referral_count: 2,
                referrals: vec![referral(1), referral(2)],
                created_at: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: 1,
                }),
                ..Profile::default()
            },
        ];
        for profile in profiles {
            let descriptor = super::super::descriptor_pool()
                .get_message_by_name("phoneauth.v1.Profile")
                .unwrap();
            let message =
                DynamicMessage::decode(descriptor, profile.encode_to_vec().as_slice()).unwrap();
            let ours: serde_json::Value = serde_json::to_value(Json(&message)).unwrap();
            let theirs = message
                .serialize_with_options(serde_json::value::Serializer, &OPTIONS)
                .unwrap();
            assert_eq!(ours, theirs);
        }
    }
}
