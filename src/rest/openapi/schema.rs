//! JSON Schemas of our messages in the proto3 JSON mapping, the one the REST API reads and
//! writes: lowerCamelCase names, 64-bit integers as strings, enums by name, well-known types
//! in their JSON forms (a Timestamp is an RFC 3339 string).
//!
//! Each message is one schema under `components.schemas`, named by its full name. Answers carry
//! every field that has no presence at its default value when unset (`answer.rs`; a message
//! field, such as a time, only when set), so the messages of answers list those fields as
//! required; a message a request also carries lists none, since a request may leave any field
//! out.
use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::comments::Comments;

/// Which way a message travels.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Answer,
}

/// The schemas referenced so far.
pub struct Schemas<'a> {
    comments: &'a Comments,
    schemas: BTreeMap<String, Value>,
    /// By message: the JSON names of its fields without presence, which answers always carry.
    always_present: BTreeMap<String, Vec<Value>>,
    in_requests: BTreeSet<String>,
    in_answers: BTreeSet<String>,
}

impl<'a> Schemas<'a> {
    pub fn new(comments: &'a Comments) -> Self {
        Self {
            comments,
            schemas: BTreeMap::new(),
            always_present: BTreeMap::new(),
            in_requests: BTreeSet::new(),
            in_answers: BTreeSet::new(),
        }
    }

    /// `{"$ref": ...}` to the schema of `message`, written (with the messages it holds) when
    /// first seen.
    pub fn reference(&mut self, message: &MessageDescriptor, direction: Direction) -> Value {
        if let Some(inline) = well_known(message) {
            return inline;
        }
        let name = message.full_name().to_owned();
        let seen = match direction {
            Direction::Request => &mut self.in_requests,
            Direction::Answer => &mut self.in_answers,
        };
        if seen.insert(name.clone()) {
            let schema = self.message(message, direction);
            self.schemas.insert(name.clone(), schema);
        }
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    /// The schema of one field's value, with the field's comment as its description.
    pub fn field(&mut self, field: &FieldDescriptor, direction: Direction) -> Value {
        let value = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("a map field's kind is its entry message");
            };
            let value_field = entry.map_entry_value_field();
            json!({
                "type": "object",
                "additionalProperties": self.single(&value_field, direction),
            })
        } else if field.is_list() {
            json!({ "type": "array", "items": self.single(field, direction) })
        } else {
            self.single(field, direction)
        };
        with_description(value, self.comments.of(field.parent_file(), field.path()))
    }

    /// Every schema; those of messages only answers carry require the fields answers always
    /// hold.
    pub fn into_components(mut self) -> Map<String, Value> {
        for (name, schema) in &mut self.schemas {
            if self.in_answers.contains(name) && !self.in_requests.contains(name) {
                let always = self.always_present.remove(name).unwrap_or_default();
                schema["required"] = Value::Array(always);
            }
        }
        self.schemas.into_iter().collect()
    }

    fn message(&mut self, message: &MessageDescriptor, direction: Direction) -> Value {
        let mut properties = Map::new();
        let mut always = Vec::new();
        for field in message.fields() {
            let schema = self.field(&field, direction);
            properties.insert(field.json_name().to_owned(), schema);
            if !field.supports_presence() {
                always.push(Value::String(field.json_name().to_owned()));
            }
        }
        self.always_present
            .insert(message.full_name().to_owned(), always);
        let comment = self.comments.of(message.parent_file(), message.path());
        with_description(
            json!({ "type": "object", "properties": properties }),
            comment,
        )
    }

    /// The schema of one value of a field (an element, for a repeated one).
    fn single(&mut self, field: &FieldDescriptor, direction: Direction) -> Value {
        match field.kind() {
            Kind::Message(message) => self.reference(&message, direction),
            Kind::Enum(enumeration) => {
                let names: Vec<String> =
                    enumeration.values().map(|v| v.name().to_owned()).collect();
                json!({ "type": "string", "enum": names })
            }
            kind => scalar(&kind),
        }
    }
}

/// The proto3 JSON form of a scalar.
pub fn scalar(kind: &Kind) -> Value {
    match kind {
        Kind::Double => json!({ "type": "number", "format": "double" }),
        Kind::Float => json!({ "type": "number", "format": "float" }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({ "type": "integer", "format": "int32" })
        }
        Kind::Uint32 | Kind::Fixed32 => {
            json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX })
        }
        // Strings, as JSON numbers cannot hold every 64-bit value exactly; a request may send
        // a number too.
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({ "type": "string", "format": "int64", "examples": ["1"] })
        }
        Kind::Uint64 | Kind::Fixed64 => {
            json!({ "type": "string", "format": "uint64", "examples": ["1"] })
        }
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::String => json!({ "type": "string" }),
        Kind::Bytes => json!({ "type": "string", "contentEncoding": "base64" }),
        Kind::Message(_) | Kind::Enum(_) => unreachable!("handled by Schemas::single"),
    }
}

/// The well-known types that have a JSON form of their own, inline.
fn well_known(message: &MessageDescriptor) -> Option<Value> {
    let schema = match message.full_name() {
        "google.protobuf.Timestamp" => json!({ "type": "string", "format": "date-time" }),
        "google.protobuf.Duration" => json!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?s$",
            "examples": ["1.5s"],
        }),
        "google.protobuf.FieldMask" => json!({ "type": "string" }),
        "google.protobuf.Empty" => json!({ "type": "object" }),
        "google.protobuf.Struct" => json!({ "type": "object" }),
        "google.protobuf.ListValue" => json!({ "type": "array" }),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.Any" => json!({
            "type": "object",
            "properties": { "@type": { "type": "string" } },
            "required": ["@type"],
        }),
        wrapper if wrapper.starts_with("google.protobuf.") && wrapper.ends_with("Value") => {
            let value = message.get_field_by_name("value")?;
            scalar(&value.kind())
        }
        _ => return None,
    };
    Some(schema)
}

fn with_description(mut schema: Value, description: &str) -> Value {
    if !description.is_empty() {
        schema["description"] = Value::String(description.to_owned());
    }
    schema
}
