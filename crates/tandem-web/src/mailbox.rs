//! The web chat's [`Channel`]: each message for a web chat waits in that chat's mailbox until
//! the page collects it, in the answer to its next message or by asking for updates.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use tandem_core::{Channel, ChannelError, ConversationId, Outbound};

/// Messages kept per chat for a page that does not collect them (it was closed): the oldest
/// go first, and stay in the transcript.
pub const MAILBOX_LIMIT: usize = 100;

/// Delivers web chats' messages to their mailboxes.
#[derive(Debug, Default)]
pub struct WebChannel {
    mailboxes: Mutex<HashMap<ConversationId, VecDeque<Outbound>>>,
}

impl WebChannel {
    /// The channel's name, the first part of a web chat's conversation id.
    pub const NAME: &'static str = "web";

    pub fn new() -> Self {
        Self::default()
    }

    /// Take the messages waiting for `conversation`, oldest first.
    pub fn collect(&self, conversation: &ConversationId) -> Vec<Outbound> {
        self.mailboxes().remove(conversation).map(Vec::from).unwrap_or_default()
    }

    fn put(&self, conversation: &ConversationId, message: &Outbound) {
        let mut mailboxes = self.mailboxes();
        let mailbox = mailboxes.entry(conversation.clone()).or_default();
        if mailbox.len() == MAILBOX_LIMIT {
            mailbox.pop_front();
            tracing::debug!("{conversation}: mailbox full, the oldest message is left to the transcript");
        }
        mailbox.push_back(message.clone());
    }

    fn mailboxes(&self) -> std::sync::MutexGuard<'_, HashMap<ConversationId, VecDeque<Outbound>>> {
        self.mailboxes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Channel for WebChannel {
    fn name(&self) -> &str {
        Self::NAME
    }

    async fn send(&self, conversation: &ConversationId, message: &Outbound) -> Result<(), ChannelError> {
        self.put(conversation, message);
        Ok(())
    }

    /// Put in the mailbox at once.
    fn try_send(&self, conversation: &ConversationId, message: &Outbound) -> Option<Result<(), ChannelError>> {
        self.put(conversation, message);
        Some(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(text: &str) -> Outbound {
        Outbound { from: None, text: text.into(), buttons: vec![] }
    }

    #[test]
    fn messages_wait_until_collected_and_are_collected_once() {
        let web = WebChannel::new();
        let (a, b) = (ConversationId::new("web", "a"), ConversationId::new("web", "b"));
        web.try_send(&a, &say("one")).unwrap().unwrap();
        web.try_send(&b, &say("for b")).unwrap().unwrap();
        web.try_send(&a, &say("two")).unwrap().unwrap();
        assert_eq!(web.collect(&a), vec![say("one"), say("two")]);
        assert_eq!(web.collect(&a), vec![]);
        assert_eq!(web.collect(&b), vec![say("for b")]);
    }

    #[test]
    fn a_full_mailbox_lets_the_oldest_go() {
        let web = WebChannel::new();
        let a = ConversationId::new("web", "a");
        for i in 0..=MAILBOX_LIMIT {
            web.try_send(&a, &say(&i.to_string())).unwrap().unwrap();
        }
        let kept = web.collect(&a);
        assert_eq!(kept.len(), MAILBOX_LIMIT);
        assert_eq!(kept[0].text, "1");
        assert_eq!(kept[MAILBOX_LIMIT - 1].text, MAILBOX_LIMIT.to_string());
    }
}
