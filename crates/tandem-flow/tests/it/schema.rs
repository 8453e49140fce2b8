//! The JSON Schema: the committed schema files are what `tandem schema` prints, and every
//! bot, flow and test file in the repository validates against its schema and names it on
//! its first line for the editor.

use std::path::{Path, PathBuf};

use tandem_flow::load::{is_flow_file, is_test_file};
use tandem_flow::schema::{FileKind, schema_json};

use crate::repo;

fn schema_file(kind: FileKind) -> PathBuf {
    repo().join(format!("crates/tandem-flow/schema/{}.schema.json", kind.name()))
}

#[test]
fn committed_schemas_are_up_to_date() {
    for kind in FileKind::ALL {
        let committed = std::fs::read_to_string(schema_file(kind)).unwrap_or_default();
        assert!(
            committed == schema_json(kind),
            "{} is stale: run `tandem schema {} > {}`",
            schema_file(kind).display(),
            kind.name(),
            schema_file(kind).display()
        );
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "data") {
                yaml_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn every_bot_flow_and_test_file_validates_and_names_its_schema() {
    let mut files = Vec::new();
    yaml_files(&repo().join("bots"), &mut files);
    yaml_files(&repo().join("flows"), &mut files);
    assert!(files.len() >= 9, "found only {files:?}");
    for file in files {
        let kind = if file.ends_with("bot.yaml") {
            FileKind::Bot
        } else if is_test_file(&file) {
            FileKind::Test
        } else {
            assert!(is_flow_file(&file));
            FileKind::Flow
        };
        let text = std::fs::read_to_string(&file).expect("readable");
        let first = text.lines().next().unwrap_or("");
        let wanted = format!("{}.schema.json", kind.name());
        assert!(
            first.starts_with("# yaml-language-server: $schema=") && first.ends_with(&wanted),
            "{} must start with `# yaml-language-server: $schema=.../{wanted}`",
            file.display()
        );
        let relative = first.trim_start_matches("# yaml-language-server: $schema=");
        let schema_path = file.parent().expect("dir").join(relative).canonicalize().expect("schema path resolves");
        assert_eq!(schema_path, schema_file(kind).canonicalize().expect("schema"));

        let schema: serde_json::Value = serde_json::from_str(&schema_json(kind)).expect("schema is JSON");
        let document: serde_json::Value = serde_saphyr::from_str(&text).expect("YAML");
        let validator = jsonschema::draft7::new(&schema).expect("valid draft-07 schema");
        let errors: Vec<String> =
            validator.iter_errors(&document).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{} does not validate:\n{}", file.display(), errors.join("\n"));
    }
}

#[test]
fn the_schema_rejects_what_the_loader_rejects() {
    let schema: serde_json::Value = serde_json::from_str(&schema_json(FileKind::Flow)).expect("JSON");
    let validator = jsonschema::draft7::new(&schema).expect("schema");
    let bad = serde_json::json!({ "flow": "x", "steps": { "a": { "sya": "hi" } } });
    assert!(!validator.is_valid(&bad), "an unknown key must not validate");
    let good = serde_json::json!({ "flow": "x", "steps": { "a": { "say": ["hi", "there"], "end": true } } });
    assert!(validator.is_valid(&good));
}
