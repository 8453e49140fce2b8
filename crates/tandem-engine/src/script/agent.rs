//! Agent turns of conversation tests: `agent: sarah` with `takes`, `says`, `notes`,
//! `transfers`, `hands_back`, `resolves`, `leaves` or `joins`.

use tandem_core::Wants;
use tandem_flow::span::Pos;
use tandem_flow::test_file::{HandBack, Resolve, Turn};

use super::session::{Failure, Session};
use crate::{AgentAction, Handled};

impl Session {
    pub(super) async fn agent_turn(&mut self, agent: &str, customer: &str, t: &Turn, pos: Pos) -> Result<(), Failure> {
        let actions = [
            t.takes.is_some(),
            t.says.is_some(),
            t.notes.is_some(),
            t.transfers.is_some(),
            t.hands_back.is_some(),
            t.resolves.is_some(),
            t.leaves.is_some(),
            t.joins.is_some(),
        ];
        if actions.iter().filter(|a| **a).count() != 1 {
            return Err((pos, "an agent turn takes exactly one of `takes`, `says`, `notes`, `transfers`, `hands_back`, `resolves`, `leaves` or `joins`".into()));
        }
        let failed = |e: &dyn std::fmt::Display| (pos, format!("the engine failed: {e}"));
        if t.leaves.is_some() || t.joins.is_some() {
            self.nothing_unread_by_anyone(pos)?;
            return self.runtime.agent_presence(agent, t.joins.is_some()).await.map_err(|e| failed(&e));
        }
        let action = if t.takes.is_some() {
            AgentAction::Take
        } else if let Some(text) = &t.says {
            self.nothing_unread(customer, pos)?;
            AgentAction::Reply(text.clone())
        } else if let Some(text) = &t.notes {
            AgentAction::Note(text.clone())
        } else if let Some(to) = &t.transfers {
            if to.agent.is_some() == to.team.is_some() {
                return Err((pos, "`transfers` takes one of `agent` or `team`".into()));
            }
            AgentAction::Transfer(Wants { skills: Vec::new(), team: to.team.clone(), agent: to.agent.clone() })
        } else if let Some(back) = &t.hands_back {
            AgentAction::HandBack(match back {
                HandBack::Step(step) => Some(step.clone()),
                HandBack::Default(_) => None,
            })
        } else {
            AgentAction::Resolve { csat: matches!(&t.resolves, Some(Resolve::With(w)) if w == "csat") }
        };
        let outcome = self.runtime.agent_action(&self.id(customer), agent, action).await.map_err(|e| failed(&e))?;
        match (outcome, &t.refused) {
            (Handled::Refused(why), Some(expected)) if super::session::matches(expected, &why) => Ok(()),
            (Handled::Refused(why), Some(expected)) => Err((
                pos,
                format!("the action was refused for another reason\n  expected: {expected}\n       got: {why}"),
            )),
            (Handled::Refused(why), None) => Err((pos, format!("the engine refused the agent's action: {why}"))),
            (_, Some(expected)) => {
                Err((pos, format!("expected the action to be refused ({expected}), but it was done")))
            }
            (_, None) => Ok(()),
        }
    }
}
