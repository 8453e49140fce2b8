//! Loading a bot from disk: read bot.yaml and its flow files, parse them with positions,
//! compile, lint, and return the runnable [`Bot`] only if nothing is wrong, with a
//! [`Report`] of every problem either way.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use tandem_nlu::{IntentDefinition, OUT_OF_SCOPE};

use crate::bot::{Action, Bot, Flow, StepRef, Target};
use crate::bot_file::BotFile;
use crate::compile::{Compiler, Names, VarUsage, author_regex, step_index};
use crate::diagnostic::Report;
use crate::lint::{FlowSite, check_graph, check_variables};
use crate::model::FlowFile;
use crate::span::{At, Pos};
use crate::template::Templates;

/// What a load gives: the bot, if it has no errors, and every diagnostic.
#[derive(Debug)]
pub struct Loaded {
    pub bot: Option<Bot>,
    pub report: Report,
}

const DEFAULT_FALLBACK: &str = "Sorry, I didn't quite get that. Could you put it another way?";
const START_OF_FILE: Pos = Pos { line: 1, col: 1, len: 1 };

/// Load the bot in `dir` (its bot.yaml and the flows it lists).
pub fn load_bot(dir: &Path) -> Loaded {
    let mut report = Report::default();
    let file = dir.join("bot.yaml");
    let Some(bot_file) = read_and_parse::<BotFile>(&file, &mut report) else {
        return Loaded { bot: None, report };
    };
    let mut flow_paths = Vec::new();
    for entry in &bot_file.flows {
        let path = dir.join(&entry.value);
        if path.is_dir() {
            match flow_files(&path) {
                Ok(files) if !files.is_empty() => flow_paths.extend(files),
                Ok(_) => report.error(&file, entry.pos, format!("`{}` holds no flow files", entry.value)),
                Err(e) => report.error(&file, entry.pos, format!("cannot read `{}`: {e}", entry.value)),
            }
        } else if path.is_file() {
            flow_paths.push(path);
        } else {
            report.error(
                &file,
                entry.pos,
                format!("`{}` is neither a flow file nor a folder of flow files", entry.value),
            );
        }
    }
    let flows =
        flow_paths.iter().filter_map(|p| read_and_parse::<FlowFile>(p, &mut report).map(|f| (p.clone(), f))).collect();
    let bot = assemble(Some((file, bot_file)), flows, &mut report);
    Loaded { bot, report }
}

/// Load flow files on their own, as a bot that starts at the first flow.
pub fn load_flows(files: &[PathBuf]) -> Loaded {
    let mut report = Report::default();
    let flows =
        files.iter().filter_map(|p| read_and_parse::<FlowFile>(p, &mut report).map(|f| (p.clone(), f))).collect();
    let bot = assemble(None, flows, &mut report);
    Loaded { bot, report }
}

/// The flow files in a folder (`*.yaml`, `*.yml`, not `*.test.yaml`), sorted by name.
pub fn flow_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_flow_file(p)).collect();
    files.sort();
    Ok(files)
}

/// A YAML file that is not a conversation test or a bot.yaml.
pub fn is_flow_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    (name.ends_with(".yaml") || name.ends_with(".yml")) && !is_test_file(path) && name != "bot.yaml"
}

/// A conversation test file: `*.test.yaml`.
pub fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".test.yaml") || name.ends_with(".test.yml")
}

/// Read and parse a YAML file, reporting I/O and syntax errors at their place.
pub fn read_and_parse<T: DeserializeOwned>(file: &Path, report: &mut Report) -> Option<T> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            report.error(file, Pos::default(), format!("cannot read the file: {e}"));
            return None;
        }
    };
    report.add_source(file, &text);
    parse_yaml(file, &text, report)
}

/// Parse YAML text, reporting a syntax or shape error at its place.
pub fn parse_yaml<T: DeserializeOwned>(file: &Path, text: &str, report: &mut Report) -> Option<T> {
    match serde_saphyr::from_str::<T>(text) {
        Ok(value) => Some(value),
        Err(e) => {
            let pos = e.location().map_or(START_OF_FILE, |l| Pos { len: 1, ..Pos::from_location(&l) });
            report.error(file, pos, yaml_message(&e));
            None
        }
    }
}

/// The error's sentence without the parser's own "line N column M" prefix and snippet.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let message = match first.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") && prefix.contains(" column ") => rest,
        _ => first,
    };
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => &message[..i],
        _ => message,
    };
    if message.starts_with("invalid u") || message.starts_with("invalid i") {
        return format!("expected a whole number ({message})");
    }
    message.replace(", set DuplicateKeyPolicy in Options if acceptable", "")
}

fn assemble(bot_file: Option<(PathBuf, BotFile)>, flows: Vec<(PathBuf, FlowFile)>, report: &mut Report) -> Option<Bot> {
    if flows.is_empty() {
        return None;
    }
    check_flow_names(&flows, report);
    let names = names(&bot_file, &flows, report);
    let mut templates = Templates::default();
    let mut usage = VarUsage::default();
    let intents = intents(&bot_file, &flows, report);
    let actions = bot_file.as_ref().map(|(file, bot)| actions(file, bot, report)).unwrap_or_default();
    let roster = bot_file.as_ref().map(|(file, bot)| crate::team::roster(report, file, bot)).unwrap_or_default();

    let mut compiled = Vec::new();
    let mut sites = Vec::new();
    for (index, (file, flow)) in flows.iter().enumerate() {
        let mut compiler =
            Compiler { report, templates: &mut templates, names: &names, usage: &mut usage, roster: &roster };
        let steps = flow.steps.iter().map(|(name, def)| compiler.step(file, index, name, def)).collect();
        let fallback = flow.fallback.as_ref().and_then(|f| match names.resolve_step(Some(index), &f.value) {
            Ok(r) if r.flow == index => Some(r.step),
            Ok(_) => {
                report.error(file, f.pos, "the `fallback` step must be a step of this flow");
                None
            }
            Err(e) => {
                report.error(file, f.pos, format!("`fallback` {e}"));
                None
            }
        });
        compiled.push(Flow {
            name: flow.flow.value.clone(),
            start: names.starts[index],
            fallback,
            steps,
            index: step_index(flow),
        });
        sites.push(FlowSite { file: file.clone(), steps: flow.steps.iter().map(|(k, _)| k.pos).collect() });
    }

    let (start, global_intents, fallback_source, bot_vars, id) = match &bot_file {
        Some((file, bot)) => {
            let start = resolve_global(&names, file, &bot.start, "start", report);
            let globals = bot
                .intents
                .iter()
                .filter_map(|(name, def)| match &def.goto {
                    Some(goto) => Some((name.value.clone(), resolve_global(&names, file, goto, "goto", report)?)),
                    None => {
                        report.error(file, name.pos, format!("global intent `{}` needs a `goto`", name.value));
                        None
                    }
                })
                .collect();
            let mut vars: Map<String, Value> = bot.vars.iter().map(|(k, v)| (k.value.clone(), v.clone())).collect();
            vars.insert("name".into(), Value::String(bot.name.clone().unwrap_or_else(|| bot.bot.value.clone())));
            let fallback = bot.fallback.as_ref().map(|f| (file.clone(), f.clone()));
            (start, globals, fallback, vars, bot.bot.value.clone())
        }
        None => {
            let vars = Map::from_iter([("name".to_string(), Value::String("Tandem".into()))]);
            (Some(StepRef { flow: 0, step: names.starts[0] }), Vec::new(), None, vars, "flows".to_string())
        }
    };
    let mut compiler =
        Compiler { report, templates: &mut templates, names: &names, usage: &mut usage, roster: &roster };
    let fallback_message = match &fallback_source {
        Some((file, f)) => compiler.template(file, &f.value, f.pos),
        None => compiler.template(Path::new(""), DEFAULT_FALLBACK, Pos::default()),
    };
    let bot_path = bot_file.as_ref().map(|(file, _)| file.as_path());
    let bot_def = bot_file.as_ref().map(|(_, bot)| bot);
    let escalation = match bot_file.as_ref() {
        Some((file, bot)) => crate::team::escalation(&mut compiler, file, &roster, &bot.escalation),
        None => Vec::new(),
    };
    let vip = bot_file.as_ref().and_then(|(file, bot)| bot.vip.as_ref().and_then(|v| compiler.condition(file, v)));
    let handoff = crate::team::settings(&mut compiler, bot_path, bot_def);
    let (intent_threshold, sentiment_cues) = understanding(&bot_file, report);

    // The graph checks only make sense once every step and target resolved.
    let compiled_cleanly = !report.has_errors();
    check_variables(&usage, &bot_vars, report);
    let mut roots: Vec<StepRef> = start.into_iter().chain(global_intents.iter().map(|(_, r)| *r)).collect();
    for (index, flow) in compiled.iter().enumerate() {
        roots.push(StepRef { flow: index, step: flow.start });
        roots.extend(flow.fallback.map(|step| StepRef { flow: index, step }));
    }
    if let Some(h) = &handoff {
        roots.extend(h.on_return.iter().chain(&h.csat));
    }
    if compiled_cleanly {
        check_graph(&compiled, &sites, &roots, report);
    }

    if report.has_errors() {
        return None;
    }
    let goes_back = compiled.iter().flat_map(|flow| &flow.steps).any(|step| step.gotos().any(|t| t == Target::Repeat));
    Some(Bot {
        id,
        vars: bot_vars,
        goes_back,
        flows: compiled,
        start: start?,
        fallback_message: fallback_message?,
        global_intents,
        intents,
        actions,
        templates,
        roster,
        escalation,
        vip,
        handoff: handoff?,
        intent_threshold,
        sentiment_cues,
    })
}

fn check_flow_names(flows: &[(PathBuf, FlowFile)], report: &mut Report) {
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for (file, flow) in flows {
        if let Some(first) = seen.insert(&flow.flow.value, file) {
            report.error(
                file,
                flow.flow.pos,
                format!("flow `{}` is also defined in {}", flow.flow.value, first.display()),
            );
        }
        if flow.steps.is_empty() {
            report.error(file, flow.flow.pos, format!("flow `{}` has no steps", flow.flow.value));
        }
    }
}

fn names(bot: &Option<(PathBuf, BotFile)>, flows: &[(PathBuf, FlowFile)], report: &mut Report) -> Names {
    let steps: Vec<HashMap<String, usize>> = flows.iter().map(|(_, f)| step_index(f)).collect();
    let starts = flows
        .iter()
        .zip(&steps)
        .map(|((file, flow), index)| match &flow.start {
            Some(start) => index.get(&start.value).copied().unwrap_or_else(|| {
                let known: Vec<String> = index.keys().cloned().collect();
                let hint = crate::compile::suggest(&start.value, &known);
                report.error(file, start.pos, format!("`start` goes to a missing step `{}`{hint}", start.value));
                0
            }),
            None => 0,
        })
        .collect();
    let mut intents: HashSet<String> =
        flows.iter().flat_map(|(_, f)| f.intents.iter().map(|(k, _)| k.value.clone())).collect();
    let mut actions = HashSet::new();
    if let Some((_, bot)) = bot {
        intents.extend(bot.intents.iter().map(|(k, _)| k.value.clone()));
        actions.extend(bot.actions.iter().map(|(k, _)| k.value.clone()));
    }
    Names { flows: flows.iter().map(|(_, f)| f.flow.value.clone()).collect(), steps, starts, intents, actions }
}

fn resolve_global(names: &Names, file: &Path, target: &At<String>, key: &str, report: &mut Report) -> Option<StepRef> {
    names.resolve_step(None, &target.value).map_err(|e| report.error(file, target.pos, format!("`{key}` {e}"))).ok()
}

/// Every intent of the bot and its flows, merged by name, with its regexes checked.
fn intents(
    bot: &Option<(PathBuf, BotFile)>,
    flows: &[(PathBuf, FlowFile)],
    report: &mut Report,
) -> Vec<IntentDefinition> {
    for (file, flow) in flows {
        for goto in flow.intents.iter().filter_map(|(_, def)| def.goto.as_ref()) {
            let why = "`goto` on an intent belongs in bot.yaml (a global intent); a flow routes intents with `next`";
            report.error(file, goto.pos, why);
        }
    }
    let all = bot.iter().flat_map(|(file, b)| b.intents.iter().map(move |(n, d)| (file, n, d)));
    let all = all.chain(flows.iter().flat_map(|(file, f)| f.intents.iter().map(move |(n, d)| (file, n, d))));
    let mut specs: Vec<IntentDefinition> = Vec::new();
    for (file, name, def) in all {
        for p in &def.patterns {
            if let Err(e) = author_regex(&p.value) {
                report.error(file, p.pos, e);
            }
        }
        if name.value == OUT_OF_SCOPE {
            out_of_scope(file, name, def, report);
        }
        if def.patterns.is_empty() && def.keywords.is_empty() && def.examples.is_empty() {
            let message =
                format!("intent `{}` has no patterns, keywords or examples, so nothing can match it", name.value);
            report.warning(file, name.pos, message);
        }
        let index = match specs.iter().position(|s| s.name == name.value) {
            Some(i) => i,
            None => {
                specs.push(IntentDefinition { name: name.value.clone(), ..IntentDefinition::default() });
                specs.len() - 1
            }
        };
        let spec = &mut specs[index];
        spec.patterns.extend(def.patterns.iter().map(|p| p.value.clone()));
        spec.keywords.extend_from_slice(&def.keywords);
        spec.examples.extend_from_slice(&def.examples);
    }
    specs
}

/// The intent `none` only holds examples of what the bot does not handle: nothing can make
/// it an answer, so rules that would are errors.
fn out_of_scope(file: &Path, name: &At<String>, def: &crate::model::IntentDef, report: &mut Report) {
    if !(def.patterns.is_empty() && def.keywords.is_empty()) {
        let why = format!(
            "intent `{OUT_OF_SCOPE}` holds examples of what the bot does not handle; it takes no `patterns` or `keywords`"
        );
        report.error(file, name.pos, why);
    }
    if let Some(goto) = &def.goto {
        let why = format!(
            "intent `{OUT_OF_SCOPE}` is never an answer, so its `goto` never runs; the bot's `fallback` answers what is out of scope"
        );
        report.error(file, goto.pos, why);
    }
}

/// The bot's actions, with their data files read.
fn actions(file: &Path, bot: &BotFile, report: &mut Report) -> HashMap<String, Action> {
    let mut out = HashMap::new();
    for (name, def) in bot.actions.iter() {
        let lookup = &def.lookup;
        let rows = match (&lookup.rows, &lookup.file) {
            (Some(rows), None) => Some(rows.clone()),
            (None, Some(data)) => read_rows(file, data, report),
            _ => {
                report.error(
                    file,
                    name.pos,
                    format!("action `{}`: a lookup takes either `rows` or `file`", name.value),
                );
                None
            }
        };
        if let Some(rows) = rows {
            out.insert(name.value.clone(), Action::Lookup { key: lookup.key.value.clone(), rows });
        }
    }
    out
}

/// A lookup's rows from a data file next to bot.yaml.
fn read_rows(bot_file: &Path, data: &At<String>, report: &mut Report) -> Option<Map<String, Value>> {
    let path = bot_file.parent().unwrap_or(Path::new(".")).join(&data.value);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            report.add_source(&path, &text);
            parse_yaml::<Map<String, Value>>(&path, &text, report)
        }
        Err(e) => {
            report.error(bot_file, data.pos, format!("cannot read data file `{}`: {e}", data.value));
            None
        }
    }
}

/// The bot's understanding settings, checked.
fn understanding(bot: &Option<(PathBuf, BotFile)>, report: &mut Report) -> (f64, Vec<(String, f64)>) {
    let Some((file, def)) = bot.as_ref().and_then(|(f, b)| b.understanding.as_ref().map(|u| (f, u))) else {
        return (tandem_nlu::DEFAULT_THRESHOLD, Vec::new());
    };
    let threshold = match &def.threshold {
        Some(t) if (0.0..=1.0).contains(&t.value) => t.value,
        Some(t) => {
            report.error(file, t.pos, "`threshold` is a confidence from 0 to 1");
            tandem_nlu::DEFAULT_THRESHOLD
        }
        None => tandem_nlu::DEFAULT_THRESHOLD,
    };
    let mut cues = Vec::new();
    for (pattern, valence) in def.sentiment_cues.iter() {
        if let Err(e) = author_regex(&pattern.value) {
            report.error(file, pattern.pos, e);
        } else if !(-4.0..=4.0).contains(&valence.value) {
            report.error(file, valence.pos, "a cue's valence is on VADER's scale, from -4 to 4");
        } else {
            cues.push((pattern.value.clone(), valence.value));
        }
    }
    (threshold, cues)
}
