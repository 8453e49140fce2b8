//! `tandem bench --mode floor`: the spec's first floor, the reference dialogue as a
//! hand-written Rust `match` state machine with the spec's two regexes, no engine, no store,
//! run and checked as the other modes are. Machines of one kind differ, and one machine from
//! minute to minute (criterion's runtime row took 1.38 µs on one, 1.90 on another, 3.78 on a
//! third in a slow spell); the spec's targets are set as shares of this floor (520,000 msgs/s
//! is 10 % of its 5,189,564), so measuring the floor on the same machine in the same session
//! says what that share is here.

use std::collections::HashMap;
use std::time::Instant;

use regex::Regex;

use crate::bench::{Reading, Tally, nanos, rss_kib, spec_line};
use crate::bench_script::{reply, says};

/// Where a conversation is in the dialogue.
enum Stage {
    /// Asked for the order number.
    AskedOrder,
    /// Has the order number, asked for the issue.
    AskedIssue { order: String },
    /// Opened a ticket.
    Ticket,
    /// Handed to agent Alice.
    HandedOff,
}

/// The dialogue's rules: the spec's order-number and angry-word patterns.
struct Dialogue {
    order: Regex,
    angry: Regex,
    stages: HashMap<u64, Stage>,
}

impl Dialogue {
    fn new() -> Self {
        Self {
            order: Regex::new(r"\b[A-Z]{3}-\d{5}\b").expect("the spec's order pattern"),
            angry: Regex::new(r"(?i)\b(angry|furious|terrible|worst|useless|ridiculous|unacceptable)\b")
                .expect("the spec's angry pattern"),
            stages: HashMap::new(),
        }
    }

    /// Conversation `id` says `text`: its reply.
    fn reply(&mut self, id: u64, text: &str) -> String {
        let Some(stage) = self.stages.get_mut(&id) else {
            self.stages.insert(id, Stage::AskedOrder);
            return "Hi! I'm the support bot. What is your order number?".into();
        };
        match stage {
            Stage::AskedOrder => match self.order.find(text) {
                Some(found) => {
                    let order = found.as_str().to_string();
                    let reply = format!("Thanks, order {order}. Please describe the issue.");
                    *stage = Stage::AskedIssue { order };
                    reply
                }
                None => "Sorry, that is not a valid order number (format ABC-12345). Please try again.".into(),
            },
            Stage::AskedIssue { .. } if self.angry.is_match(text) => {
                *stage = Stage::HandedOff;
                "I'm sorry for the trouble. I'm transferring you to a human agent (Alice).".into()
            }
            Stage::AskedIssue { order } => {
                let reply = format!("I've opened a ticket for {order}. Anything else?");
                *stage = Stage::Ticket;
                reply
            }
            Stage::Ticket => "Glad I could help. Goodbye!".into(),
            Stage::HandedOff => "Agent Alice has been notified and will join shortly.".into(),
        }
    }
}

/// Run the workload through the floor and return its JSON line and whether every reply was right.
pub fn run(conversations: usize) -> (String, bool) {
    let mut dialogue = Dialogue::new();
    let mut tally = Tally::for_messages(conversations * 5);
    let base = rss_kib("VmRSS");
    let mut live = 0;
    // The customer's text is written into one buffer, as a server reads a request into one.
    let mut text = String::new();
    let started = Instant::now();
    for turn in 1..=5 {
        for c in 0..conversations {
            says(c, turn).write_over(&mut text);
            let sent = Instant::now();
            let got = dialogue.reply(c as u64, &text);
            let latency = nanos(sent.elapsed());
            let expected = reply(c, turn);
            let wrong = (!expected.is(&got)).then(|| {
                format!("mismatch: conversation {c}, turn {turn}: got [{got:?}], expected [{:?}]", expected.text())
            });
            tally.add((latency, wrong));
        }
        if turn == 4 {
            live = rss_kib("VmRSS");
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let right = tally.mismatches() == 0;
    let framework = "floor: hand-written Rust match state machine + regex";
    (spec_line(framework, tally, Reading { base, live }, wall), right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_gives_every_reply_of_the_table() {
        let (line, right) = run(10);
        assert!(right, "{line}");
        assert!(line.contains(r#""messages":50,"#), "{line}");
    }
}
