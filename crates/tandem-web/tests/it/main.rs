//! The web chat's API served on a loopback port over real SQLite, talked to over HTTP.

mod chat_api;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tandem_core::SystemClock;
use tandem_engine::{Engine, Runtime};
use tandem_store::SqliteStore;
use tandem_web::{WebChannel, WebChatClient, router, serve};
use tokio::net::TcpListener;

/// The benchmark's bot: a 5-turn support dialogue whose angry customers go to agent Alice.
fn support_bot() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tandem-cli/bench/support-dialogue")
}

/// A web chat server on a loopback port, its runtime, and its SQLite file's folder.
pub struct Server {
    pub addr: SocketAddr,
    pub runtime: Arc<Runtime>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Self {
        let loaded = tandem_flow::load_bot(&support_bot());
        let engine = Engine::new(loaded.bot.expect("the support bot loads")).expect("engine");
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("web.sqlite")).await.unwrap();
        let web = Arc::new(WebChannel::new());
        let runtime =
            Arc::new(Runtime::new(Arc::new(engine), Arc::new(store), Arc::new(SystemClock)).with_channel(web.clone()));
        runtime.restore().await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(runtime.clone(), web);
        tokio::spawn(serve(listener, app, std::future::pending()));
        Self { addr, runtime, _dir: dir }
    }

    pub async fn client(&self) -> WebChatClient {
        WebChatClient::connect(self.addr).await.unwrap()
    }
}
