//! Tandem's conversation runtime. [`Engine::step`] is the pure heart:
//! `(conversation, input, now) -> (conversation, effects)`, with no I/O, so conversations
//! can be tested on a fake clock. [`Runtime`] is the thin async shell around it: it
//! serialises inputs per conversation, commits each step's results in one store
//! transaction, then delivers the outbox and fires durable timers. [`script`] runs
//! conversation tests (`*.test.yaml`) through that same runtime.

mod answer;
mod conversation_locks;
mod engine;
mod escalate;
mod journal_codec;
mod journal_log;
mod memory;
mod runtime;
pub mod script;
mod turn;

pub use engine::{AgentAction, Effects, Engine, EngineError, Input, Transition};
pub use memory::MemoryStore;
pub use runtime::{Handled, MESSAGES_IN_FLIGHT, Runtime, RuntimeError};
