//! The terminal channel: the bot's messages printed on stdout, buttons as numbered choices,
//! so a flow author can talk to a bot with no platform account.

use std::io::Write;
use std::sync::Mutex;

use async_trait::async_trait;
use tandem_core::{Channel, ChannelError, ConversationId, Outbound};

/// Prints messages and remembers the buttons last offered, so "2" can press the second.
pub struct Terminal {
    speaker: String,
    offered: Mutex<Vec<String>>,
}

impl Terminal {
    pub const NAME: &'static str = "terminal";

    pub fn new(speaker: impl Into<String>) -> Self {
        Self { speaker: speaker.into(), offered: Mutex::new(Vec::new()) }
    }

    /// Print one bot message the way the customer sees it.
    pub fn show(&self, message: &Outbound) {
        let mut out = std::io::stdout().lock();
        let speaker = message.from.as_deref().unwrap_or(&self.speaker);
        let _ = writeln!(out, "{speaker}: {}", message.text);
        for (i, label) in message.buttons.iter().enumerate() {
            let _ = writeln!(out, "   {}) {label}", i + 1);
        }
        let _ = out.flush();
        if !message.buttons.is_empty() {
            *self.offered.lock().unwrap_or_else(|e| e.into_inner()) = message.buttons.clone();
        }
    }

    /// What a typed line means: a pressed button when it is the number of one, else text.
    pub fn interpret(&self, line: &str) -> (String, Option<String>) {
        let offered = self.offered.lock().unwrap_or_else(|e| e.into_inner());
        let pressed =
            line.trim().parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| offered.get(i)).cloned();
        match pressed {
            Some(label) => (label.clone(), Some(label)),
            None => (line.to_string(), None),
        }
    }
}

#[async_trait]
impl Channel for Terminal {
    fn name(&self) -> &str {
        Self::NAME
    }

    async fn send(&self, _: &ConversationId, message: &Outbound) -> Result<(), ChannelError> {
        self.show(message);
        Ok(())
    }

    fn try_send(&self, _: &ConversationId, message: &Outbound) -> Option<Result<(), ChannelError>> {
        self.show(message);
        Some(Ok(()))
    }
}
