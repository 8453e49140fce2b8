//! Integration tests of the engine: every conversation test in the repository, the test
//! runner's failure reports, the runtime's guarantees, and no panic on any customer text.

mod conversations;
mod no_panic;
mod redelivery;
mod runtime;

use std::path::PathBuf;
use std::sync::Arc;

use tandem_engine::Engine;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// The example bot, loaded once (its classifier is trained when it loads).
pub fn acme() -> Arc<Engine> {
    static ACME: std::sync::OnceLock<Arc<Engine>> = std::sync::OnceLock::new();
    ACME.get_or_init(|| {
        let loaded = tandem_flow::load_bot(&repo().join("bots/acme-support"));
        Arc::new(Engine::new(loaded.bot.expect("the example bot loads")).expect("intents compile"))
    })
    .clone()
}
