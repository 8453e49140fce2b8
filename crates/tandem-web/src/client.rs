//! A client of the web chat's API over one kept-alive HTTP/1.1 connection: what a customer's
//! page does, for the loopback benchmark and the tests.

use std::net::SocketAddr;

use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::{Method, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;

use crate::wire::{CustomerMessage, Replies, Transcript};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connecting: {0}")]
    Connect(#[from] std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("making the request: {0}")]
    Request(#[from] axum::http::Error),
    #[error("the answer is not the JSON expected: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{status}: {body}")]
    Status { status: StatusCode, body: String },
}

/// One connection to a web chat server.
pub struct WebChatClient {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl WebChatClient {
    pub async fn connect(addr: SocketAddr) -> Result<Self, ClientError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("web chat client connection: {e}");
            }
        });
        Ok(Self { sender, authority: addr.to_string() })
    }

    /// Post the customer's message to `chat`; the replies to it.
    pub async fn say(&mut self, chat: &str, message: &CustomerMessage) -> Result<Replies, ClientError> {
        let body = serde_json::to_vec(message)?;
        self.json(Method::POST, &format!("/api/chats/{chat}/messages"), body).await
    }

    /// The messages for `chat` since they were last collected.
    pub async fn updates(&mut self, chat: &str) -> Result<Replies, ClientError> {
        self.json(Method::GET, &format!("/api/chats/{chat}/updates"), Vec::new()).await
    }

    /// What the customer of `chat` has seen.
    pub async fn transcript(&mut self, chat: &str) -> Result<Transcript, ClientError> {
        self.json(Method::GET, &format!("/api/chats/{chat}/transcript"), Vec::new()).await
    }

    /// Any request: its status and body.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.authority)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    async fn json<T: DeserializeOwned>(&mut self, method: Method, path: &str, body: Vec<u8>) -> Result<T, ClientError> {
        let (status, body) = self.request(method, path, body).await?;
        if !status.is_success() {
            return Err(ClientError::Status { status, body: String::from_utf8_lossy(&body).into_owned() });
        }
        Ok(serde_json::from_slice(&body)?)
    }
}
