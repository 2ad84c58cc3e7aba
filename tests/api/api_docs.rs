//! docs/api.md keeps up with the protos: every RPC and every message of our files
//! (phoneauth/v1/auth.proto, phoneauth/v1/session.proto, and any later one) has a heading there, an RPC's section names its request and response messages, and a
//! message's section names each of its fields. Adding to the proto without documenting fails.
use prost::Message;
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};

/// The files of ours in the descriptor set (the rest are Google's and Envoy's).
const OUR_PREFIX: &str = "phoneauth/";
const DOCS_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md");

/// The documentation split at its headings: (heading line, the lines up to the next heading).
fn sections() -> Vec<(String, String)> {
    let docs = std::fs::read_to_string(DOCS_FILE)
        .unwrap_or_else(|error| panic!("cannot read {DOCS_FILE}: {error}"));
    let mut sections: Vec<(String, String)> = Vec::new();
    let mut in_code_block = false;
    for line in docs.lines() {
        if line.trim_start().starts_with("```") {
            in_code_block = !in_code_block;
        }
        if !in_code_block && line.starts_with('#') {
            sections.push((line.to_owned(), String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    sections
}

/// The body of the section whose heading names `name` in backticks, e.g. "### `Profile`".
fn section_of<'a>(sections: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let wanted = format!("`{name}`");
    sections
        .iter()
        .find(|(heading, _)| heading.contains(&wanted))
        .map(|(_, body)| body.as_str())
}

/// Our proto files, as the server embeds them.
fn our_protos() -> Vec<FileDescriptorProto> {
    let files: Vec<_> = FileDescriptorSet::decode(phone_auth::proto::FILE_DESCRIPTOR_SET)
        .expect("the embedded descriptor set decodes")
        .file
        .into_iter()
        .filter(|file| file.name().starts_with(OUR_PREFIX))
        .collect();
    assert!(
        files.len() >= 2,
        "the descriptor set holds only {} of our files",
        files.len()
    );
    files
}

/// Every message of the file, nested ones as `Outer.Inner`.
fn messages(file: &FileDescriptorProto) -> Vec<(String, DescriptorProto)> {
    fn walk(prefix: &str, message: &DescriptorProto, out: &mut Vec<(String, DescriptorProto)>) {
        let name = format!("{prefix}{}", message.name());
        for nested in &message.nested_type {
            walk(&format!("{name}."), nested, out);
        }
        out.push((name, message.clone()));
    }
    let mut out = Vec::new();
    for message in &file.message_type {
        walk("", message, &mut out);
    }
    out
}

/// `.phoneauth.v1.Profile` → `Profile`.
fn short_name(type_name: &str) -> &str {
    type_name.rsplit('.').next().unwrap_or(type_name)
}

#[track_caller]
fn assert_nothing_missing(missing: Vec<String>, what: &str) {
    assert!(
        missing.is_empty(),
        "docs/api.md lacks {what}:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn api_docs_have_a_section_for_every_rpc_naming_its_messages() {
    let sections = sections();
    let mut missing = Vec::new();
    let mut rpcs = 0;
    for service in our_protos().iter().flat_map(|file| &file.service) {
        for method in &service.method {
            rpcs += 1;
            let Some(body) = section_of(&sections, method.name()) else {
                missing.push(format!(
                    "a heading with `{}` ({}.{})",
                    method.name(),
                    service.name(),
                    method.name()
                ));
                continue;
            };
            for message in [method.input_type(), method.output_type()] {
                let wanted = format!("`{}`", short_name(message));
                if !body.contains(&wanted) {
                    missing.push(format!("{wanted} in the section of `{}`", method.name()));
                }
            }
        }
    }
    assert!(rpcs >= 8, "the protos declare only {rpcs} RPCs");
    assert_nothing_missing(missing, "these RPCs");
}

#[test]
fn api_docs_have_a_section_for_every_message_naming_its_fields() {
    let files = our_protos();
    let sections = sections();
    let mut missing = Vec::new();
    let messages: Vec<_> = files.iter().flat_map(messages).collect();
    for (name, message) in &messages {
        let Some(body) = section_of(&sections, name) else {
            missing.push(format!("a heading with `{name}`"));
            continue;
        };
        for field in &message.field {
            let wanted = format!("`{}`", field.name());
            if !body.contains(&wanted) {
                missing.push(format!("{wanted} in the section of `{name}`"));
            }
        }
    }
    for enumeration in files.iter().flat_map(|file| &file.enum_type) {
        if section_of(&sections, enumeration.name()).is_none() {
            missing.push(format!("a heading with `{}`", enumeration.name()));
        }
    }
    assert!(
        messages.len() >= 15,
        "the protos declare only {} messages",
        messages.len()
    );
    assert_nothing_missing(missing, "these messages or fields");
}

#[test]
fn the_section_lookup_finds_only_backticked_headings() {
    let sections = vec![
        (
            "### `ListUsers`".to_owned(),
            "`ListUsersRequest`".to_owned(),
        ),
        ("## Users".to_owned(), "body".to_owned()),
    ];
    assert!(section_of(&sections, "ListUsers").is_some());
    assert!(section_of(&sections, "User").is_none(), "no `User` heading");
    assert!(section_of(&sections, "Users").is_none(), "not in backticks");
}
