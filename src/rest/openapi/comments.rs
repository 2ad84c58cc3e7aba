//! The comments of the proto, as the descriptor set keeps them (build.rs compiles with source
//! info), found by a descriptor's file and source path.
use std::collections::HashMap;

use prost_reflect::{DescriptorPool, FileDescriptor};

/// Every leading comment of every file in the pool.
pub struct Comments {
    by_location: HashMap<(String, Vec<i32>), String>,
}

impl Comments {
    pub fn of_pool(pool: &DescriptorPool) -> Self {
        let mut by_location = HashMap::new();
        for file in pool.files() {
            let Some(info) = &file.file_descriptor_proto().source_code_info else {
                continue;
            };
            for location in &info.location {
                if let Some(comment) = &location.leading_comments {
                    let key = (file.name().to_owned(), location.path.clone());
                    by_location.insert(key, tidy(comment));
                }
            }
        }
        Self { by_location }
    }

    /// The comment above the element at `path` of `file` (a message, field, service, RPC…),
    /// as Markdown; empty when it has none.
    pub fn of(&self, file: FileDescriptor, path: &[i32]) -> &str {
        self.by_location
            .get(&(file.name().to_owned(), path.to_vec()))
            .map_or("", String::as_str)
    }
}

/// `// Sends a code.\n// More.` arrives as " Sends a code.\n More.\n": the lines without the
/// space after `//`. Lines wrapped in the proto stay one Markdown paragraph.
fn tidy(comment: &str) -> String {
    comment
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// The first sentence of a comment, for an operation's one-line summary.
pub fn first_sentence(comment: &str) -> String {
    let flat = comment.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(end) => flat[..end].to_owned(),
        None => flat.trim_end_matches('.').to_owned(),
    }
}
