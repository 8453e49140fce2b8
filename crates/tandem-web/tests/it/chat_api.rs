//! A customer's page and an agent on the web chat's routes.

use tandem_core::{ConversationId, Outbound};
use tandem_engine::AgentAction;
use tandem_web::{ClientError, CustomerMessage, TranscriptLine};

use crate::Server;

fn texts(messages: &[Outbound]) -> Vec<&str> {
    messages.iter().map(|m| m.text.as_str()).collect()
}

#[tokio::test]
async fn the_dialogue_over_http_answers_each_message_with_its_replies() {
    let server = Server::start().await;
    let mut page = server.client().await;
    let hi = page.say("c1", &CustomerMessage::text("hi")).await.unwrap();
    assert_eq!(texts(&hi.messages), ["Hi! I'm the support bot. What is your order number?"]);
    let wrong = page.say("c1", &CustomerMessage::text("it's 12345")).await.unwrap();
    assert_eq!(
        texts(&wrong.messages),
        ["Sorry, that is not a valid order number (format ABC-12345). Please try again."]
    );
    let order = page.say("c1", &CustomerMessage::text("my order is ORD-00001")).await.unwrap();
    assert_eq!(texts(&order.messages), ["Thanks, order ORD-00001. Please describe the issue."]);
    let issue = page.say("c1", &CustomerMessage::text("The package arrived damaged, can you help?")).await.unwrap();
    assert_eq!(texts(&issue.messages), ["I've opened a ticket for ORD-00001. Anything else?"]);
    // Another chat on the same connection is its own conversation.
    let other = page.say("c2", &CustomerMessage::text("hello")).await.unwrap();
    assert_eq!(texts(&other.messages), ["Hi! I'm the support bot. What is your order number?"]);
    let bye = page.say("c1", &CustomerMessage::text("thanks")).await.unwrap();
    assert_eq!(texts(&bye.messages), ["Glad I could help. Goodbye!"]);

    let transcript = page.transcript("c1").await.unwrap();
    assert_eq!(transcript.lines.len(), 10, "{transcript:?}");
    assert_eq!(transcript.lines[0], TranscriptLine::Customer { text: "hi".into(), button: None });
    assert_eq!(
        transcript.lines[9],
        TranscriptLine::Bot { text: "Glad I could help. Goodbye!".into(), buttons: vec![] }
    );
}

#[tokio::test]
async fn a_message_posted_again_with_its_id_is_handled_once() {
    let server = Server::start().await;
    let mut page = server.client().await;
    let first = CustomerMessage { id: Some("m-1".into()), ..CustomerMessage::text("hi") };
    let answer = page.say("c1", &first).await.unwrap();
    assert_eq!(answer.messages.len(), 1);
    let again = page.say("c1", &first).await.unwrap();
    assert_eq!(again, answer, "a retry whose answer was lost gets the same replies");
    let lines = page.transcript("c1").await.unwrap().lines;
    assert_eq!(lines.len(), 2, "one customer line, one reply: the retry was not handled: {lines:?}");
    let second = CustomerMessage { id: Some("m-2".into()), ..CustomerMessage::text("it's 12345") };
    let answer = page.say("c1", &second).await.unwrap();
    assert_eq!(page.say("c1", &second).await.unwrap(), answer);
    assert!(page.updates("c1").await.unwrap().messages.is_empty(), "nothing left over in the mailbox");
}

#[tokio::test]
async fn an_angry_customer_gets_alice_and_her_reply_comes_as_an_update() {
    let server = Server::start().await;
    let mut page = server.client().await;
    for line in ["hi", "my order is ORD-00005"] {
        page.say("angry", &CustomerMessage::text(line)).await.unwrap();
    }
    let angry =
        page.say("angry", &CustomerMessage::text("This is the worst service ever, I am furious!")).await.unwrap();
    assert_eq!(texts(&angry.messages), ["I'm sorry for the trouble. I'm transferring you to a human agent (Alice)."]);
    assert!(page.updates("angry").await.unwrap().messages.is_empty(), "nothing new yet");

    let id = ConversationId::new("web", "angry");
    server.runtime.agent_action(&id, "alice", AgentAction::Reply("Hi, Alice here. Let me look.".into())).await.unwrap();
    let update = page.updates("angry").await.unwrap();
    assert_eq!(texts(&update.messages), ["Hi, Alice here. Let me look."]);
    assert_eq!(update.messages[0].from.as_deref(), Some("Alice"));
    assert!(page.updates("angry").await.unwrap().messages.is_empty(), "collected once");

    // The bot does not talk over Alice: the customer's next line is hers to answer.
    let thanks = page.say("angry", &CustomerMessage::text("thanks")).await.unwrap();
    assert!(!texts(&thanks.messages).contains(&"Glad I could help. Goodbye!"), "{thanks:?}");
    let lines = page.transcript("angry").await.unwrap().lines;
    assert!(
        lines.contains(&TranscriptLine::Agent { agent: "Alice".into(), text: "Hi, Alice here. Let me look.".into() }),
        "{lines:?}"
    );
}

/// The status and the `error` of a request that fails.
async fn refused(page: &mut tandem_web::WebChatClient, path: &str, body: &str) -> (u16, String) {
    let (status, body) = page.request(axum_method(path), path, body.as_bytes().to_vec()).await.unwrap();
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    (status.as_u16(), error["error"].as_str().unwrap_or_default().to_string())
}

fn axum_method(path: &str) -> hyper::Method {
    if path.ends_with("/messages") { hyper::Method::POST } else { hyper::Method::GET }
}

#[tokio::test]
async fn bad_requests_get_a_clear_error_and_change_nothing() {
    let server = Server::start().await;
    let mut page = server.client().await;
    let (status, error) = refused(&mut page, "/api/chats/c1/messages", "{\"text\": ").await;
    assert_eq!(status, 400, "{error}");
    assert!(!error.is_empty());
    let (status, error) = refused(&mut page, "/api/chats/c1/messages", r#"{"txt": "hi"}"#).await;
    assert_eq!(status, 422, "JSON, but not a message");
    assert!(error.contains("txt"), "names the unknown field: {error}");
    let (status, error) = refused(&mut page, "/api/chats/c1/messages", r#"{"text": "  "}"#).await;
    assert_eq!((status, error.as_str()), (400, "a message needs text or a button"));
    let long = serde_json::json!({ "text": "x".repeat(5000) }).to_string();
    let (status, _) = refused(&mut page, "/api/chats/c1/messages", &long).await;
    assert_eq!(status, 413);
    let huge = serde_json::json!({ "text": "x".repeat(100_000) }).to_string();
    let (status, error) = refused(&mut page, "/api/chats/c1/messages", &huge).await;
    assert_eq!(status, 413, "{error}");
    assert!(!error.is_empty());
    let (status, error) = refused(&mut page, "/api/chats/a:b/messages", r#"{"text": "hi"}"#).await;
    assert_eq!(status, 400);
    assert!(error.contains("chat id"), "{error}");
    let (status, error) = refused(&mut page, "/api/chats/nobody/transcript", "").await;
    assert_eq!((status, error.as_str()), (404, "no chat nobody"));

    // The connection is still good, and nothing of the above reached the conversation.
    assert!(matches!(page.transcript("c1").await, Err(ClientError::Status { .. })));
    let hi = page.say("c1", &CustomerMessage::text("hi")).await.unwrap();
    assert_eq!(hi.messages.len(), 1);
    let (status, body) = page.request(hyper::Method::GET, "/healthz", Vec::new()).await.unwrap();
    assert_eq!((status.as_u16(), &body[..]), (200, &b"ok"[..]));
}
