//! Agent commands typed into `tandem chat`, so one person can play customer and agent on
//! one machine until the agent desk exists: `@sarah take`, `@sarah say Hello!`,
//! `@sarah note VIP`, `@sarah transfer team orders`, `@sarah back [flow.step]`,
//! `@sarah resolve [csat]`, `@sarah leave`, `@sarah join`, `@sarah transcript`.

use tandem_core::{Event, JournalEntry, Wants};
use tandem_engine::AgentAction;

/// What an agent line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentCommand {
    Act(AgentAction),
    Presence { online: bool },
    Transcript,
}

pub const HELP: &str = "agent commands: @<agent> take | say <text> | note <text> | transfer agent <id> | transfer team <id> | back [flow.step] | resolve [csat] | leave | join | transcript";

/// `@agent command args` into the agent and the command; `None` when the line is not one.
pub fn parse(line: &str) -> Option<Result<(String, AgentCommand), String>> {
    let rest = line.trim().strip_prefix('@')?;
    let mut words = rest.splitn(3, ' ');
    let agent = words.next().unwrap_or_default().to_string();
    let verb = words.next().unwrap_or_default();
    let args = words.next().unwrap_or_default().trim().to_string();
    let command = match (verb, args.as_str()) {
        ("take", "") => AgentCommand::Act(AgentAction::Take),
        ("say", text) if !text.is_empty() => AgentCommand::Act(AgentAction::Reply(args.clone())),
        ("note", text) if !text.is_empty() => AgentCommand::Act(AgentAction::Note(args.clone())),
        ("transfer", target) => match target.split_once(' ') {
            Some(("agent", id)) => {
                AgentCommand::Act(AgentAction::Transfer(Wants { agent: Some(id.trim().into()), ..Wants::default() }))
            }
            Some(("team", id)) => {
                AgentCommand::Act(AgentAction::Transfer(Wants { team: Some(id.trim().into()), ..Wants::default() }))
            }
            _ => return Some(Err("transfer to `agent <id>` or `team <id>`".into())),
        },
        ("back", "") => AgentCommand::Act(AgentAction::HandBack(None)),
        ("back", step) => AgentCommand::Act(AgentAction::HandBack(Some(step.to_string()))),
        ("resolve", "") => AgentCommand::Act(AgentAction::Resolve { csat: false }),
        ("resolve", "csat") => AgentCommand::Act(AgentAction::Resolve { csat: true }),
        ("leave", "") => AgentCommand::Presence { online: false },
        ("join", "") => AgentCommand::Presence { online: true },
        ("transcript", "") => AgentCommand::Transcript,
        _ => return Some(Err(HELP.to_string())),
    };
    Some(Ok((agent, command)))
}

/// The journal as an agent reads it: who said what, why the bot stepped aside, sentiment.
pub fn transcript(journal: &[JournalEntry]) -> String {
    let mut out = String::new();
    for entry in journal {
        let at = entry.at.format("%a %H:%M");
        let line = match &entry.event {
            Event::CustomerSaid { text, .. } => format!("customer: {text}"),
            Event::BotSaid { text, .. } => format!("bot: {text}"),
            Event::AgentSaid { agent, text } => format!("{agent}: {text}"),
            Event::AgentNote { agent, text } => format!("(note by {agent}) {text}"),
            Event::EscalationTriggered(fired) => {
                format!("** escalated: {} ({}, {})", fired.reason, fired.rule, fired.values)
            }
            Event::HandoffRequested(request) => format!("** asked for a person: {}", request.reason),
            Event::OwnerChanged(change) => {
                format!("** {} -> {} by {}: {}", change.from, change.to, change.actor, change.reason)
            }
            Event::VariableSet { name, value } if name == "sentiment" => format!("   sentiment {}", value["score"]),
            _ => continue,
        };
        out.push_str(&format!("  [{at}] {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_agent_lines() {
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("@sarah take"), Some(Ok(("sarah".into(), AgentCommand::Act(AgentAction::Take)))));
        assert_eq!(
            parse("@sarah say Hi, Sarah here!"),
            Some(Ok(("sarah".into(), AgentCommand::Act(AgentAction::Reply("Hi, Sarah here!".into())))))
        );
        assert_eq!(
            parse("@sarah back main.anything_else"),
            Some(Ok(("sarah".into(), AgentCommand::Act(AgentAction::HandBack(Some("main.anything_else".into()))))))
        );
        assert_eq!(
            parse("@sarah resolve csat"),
            Some(Ok(("sarah".into(), AgentCommand::Act(AgentAction::Resolve { csat: true }))))
        );
        assert_eq!(parse("@sarah leave"), Some(Ok(("sarah".into(), AgentCommand::Presence { online: false }))));
        assert!(matches!(parse("@sarah dance"), Some(Err(_))));
    }
}
