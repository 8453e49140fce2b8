//! JSON Schema (draft-07, what the VS Code YAML server reads) of flow, bot and test files.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;

use crate::bot_file::BotFile;
use crate::model::FlowFile;
use crate::test_file::TestFile;

/// The kinds of file Tandem reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Flow,
    Bot,
    Test,
}

impl FileKind {
    pub const ALL: [FileKind; 3] = [FileKind::Flow, FileKind::Bot, FileKind::Test];

    pub fn name(self) -> &'static str {
        match self {
            FileKind::Flow => "flow",
            FileKind::Bot => "bot",
            FileKind::Test => "test",
        }
    }
}

/// The schema of a kind of file, as pretty JSON.
pub fn schema_json(kind: FileKind) -> String {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = match kind {
        FileKind::Flow => generator.into_root_schema_for::<FlowFile>(),
        FileKind::Bot => generator.into_root_schema_for::<BotFile>(),
        FileKind::Test => generator.into_root_schema_for::<TestFile>(),
    };
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Schema of any type, for tests of new file kinds.
pub fn schema_of<T: JsonSchema>() -> serde_json::Value {
    SchemaSettings::draft07().into_generator().into_root_schema_for::<T>().to_value()
}
