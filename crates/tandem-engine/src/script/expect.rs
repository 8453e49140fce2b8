//! `expect:` turns: assertions on a conversation's state.

use serde_json::Value;
use tandem_core::Owner;
use tandem_flow::span::Pos;
use tandem_flow::test_file::Expectation;

use super::session::{Failure, Session, parse_time};

impl Session {
    pub(super) async fn expect_state(&mut self, customer: &str, e: &Expectation, pos: Pos) -> Result<(), Failure> {
        let conversation = self
            .runtime
            .store()
            .load(&self.id(customer))
            .await
            .map_err(|err| (pos, format!("the store failed: {err}")))?
            .ok_or((pos, "the conversation has not started".to_string()))?;
        let mut problems = Vec::new();
        let mut check = |what: &str, expected: String, got: String| {
            if expected != got {
                problems.push(format!("expected {what} `{expected}`, got `{got}`"));
            }
        };
        if let Some(at) = &e.at {
            check("the bot at", at.clone(), conversation.position().unwrap_or_else(|| "(no step)".into()));
        }
        if let Some(ended) = e.ended {
            check("ended", ended.to_string(), conversation.is_closed().to_string());
        }
        if let Some(waiting) = e.waiting {
            let is_waiting = conversation.bot_at().is_some_and(|at| at.waiting);
            check("waiting", waiting.to_string(), is_waiting.to_string());
        }
        if let Some(fallbacks) = e.fallbacks {
            check("fallbacks", fallbacks.to_string(), conversation.fallbacks.to_string());
        }
        if let Some(owner) = &e.owner {
            check("owner", owner.clone(), conversation.owner.describe());
        }
        if let Some(position) = e.queue_position {
            let got = match &conversation.owner {
                Owner::Queued { position, .. } => position.to_string(),
                other => format!("(not queued: {})", other.describe()),
            };
            check("queue position", position.to_string(), got);
        }
        if let Some(until) = &e.parked_until {
            let expected = parse_time(until).map_err(|err| (pos, format!("`parked_until` {err}")))?;
            let got = match &conversation.owner {
                Owner::Parked { until: Some(u), .. } => u.to_rfc3339(),
                other => format!("(not parked with a time: {})", other.describe()),
            };
            check("parked until", expected.to_rfc3339(), got);
        }
        if let Some(reason) = &e.reason {
            check("reason", reason.clone(), conversation.owner.handoff().map(|h| h.reason.clone()).unwrap_or_default());
        }
        for (name, expected) in e.vars.iter() {
            let got = conversation.variable(&name.value).unwrap_or(Value::Null);
            if !same_value(expected, &got) {
                problems.push(format!("expected `{}` = {expected}, got {got}", name.value));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err((pos, problems.join("\n  "))) }
    }
}

/// Equal as JSON, with numbers compared by value (3 == 3.0).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
