//! What goes over the wire, as JSON: the page's message in, replies and transcripts out.

use serde::{Deserialize, Serialize};
use tandem_core::Outbound;

/// A customer's message, as the page posts it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerMessage {
    /// What the customer wrote (empty when they pressed a button).
    #[serde(default)]
    pub text: String,
    /// The label of the button pressed, if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<String>,
    /// The page's id for this message: a message posted again with the same id (a retry after
    /// a lost answer) is not handled twice, and is answered with the replies since the
    /// customer's last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The customer's name, when the page knows it. Once given it is kept: later messages
    /// may leave it out. A chat that never gives one has an empty name in the bot's templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl CustomerMessage {
    /// A message of `text` and nothing else.
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), ..Self::default() }
    }
}

/// Messages for the customer: the bot's, and the agents' (with `from`), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replies {
    pub messages: Vec<Outbound>,
}

/// A chat as the customer saw it, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    pub lines: Vec<TranscriptLine>,
}

/// One line of a transcript: who said what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum TranscriptLine {
    Customer {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        button: Option<String>,
    },
    Bot {
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        buttons: Vec<String>,
    },
    Agent {
        agent: String,
        text: String,
    },
}
