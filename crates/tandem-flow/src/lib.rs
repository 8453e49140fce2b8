//! The Tandem flow language: the YAML model of bots and flows with source positions, the
//! loader that compiles them into a runnable [`Bot`], the checks `tandem check` reports
//! (cargo-style, with file:line:col), the conversation-test file model, and the JSON Schema
//! that gives flow authors completion in their editor. No runtime here.

pub mod bot;
pub mod bot_file;
pub mod compile;
pub mod condition;
pub mod diagnostic;
pub mod duration;
pub mod lint;
pub mod load;
pub mod model;
pub mod schema;
pub mod span;
pub mod team;
pub mod template;
pub mod test_file;

pub use bot::{Bot, StepRef, Target};
pub use diagnostic::{Diagnostic, Report, Severity};
pub use load::{Loaded, load_bot, load_flows};
