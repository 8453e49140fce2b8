//! Message templates: Handlebars, compiled when a bot loads, rendered as plain text (no HTML
//! escaping: chat is not a web page). Also lists the variables a template reads, for the
//! linter.

use handlebars::template::{Parameter, Template, TemplateElement};
use handlebars::{Handlebars, Path as HbPath, PathSeg, TemplateErrorReason};
use serde::Serialize;
use serde_json::Value;

/// A compiled template's handle within its bot.
pub type TemplateId = usize;

/// Every template of a bot.
pub struct Templates {
    registry: Handlebars<'static>,
    /// Per template: its registry name, and its text when it has nothing to fill in.
    entries: Vec<Entry>,
}

/// What a template reads: serialised for Handlebars, and asked directly for the text of a
/// plain `{{name}}` (no serialising at all for most messages that fill something in).
pub trait TemplateData: Serialize {
    /// The value of the top-level name `name` when it is a string; `None` when it is anything
    /// else or missing, and Handlebars then renders the template.
    fn text(&self, name: &str) -> Option<&str>;
}

impl TemplateData for Value {
    fn text(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_str()
    }
}

impl<T: TemplateData> TemplateData for &T {
    fn text(&self, name: &str) -> Option<&str> {
        (**self).text(name)
    }
}

struct Entry {
    name: String,
    literal: Option<String>,
    /// Its text and plain `{{name}}`s, when that is all it is (see [`Templates::pieces`]).
    pieces: Option<Vec<Piece>>,
    /// The top-level names it reads, when that is all it needs (see [`roots`]).
    roots: Option<Vec<String>>,
    /// Bytes of its source: a rendered message is about as long.
    source_len: usize,
}

/// Part of a template that is only text and plain names.
enum Piece {
    Text(String),
    Name(String),
}

/// Room a rendered message gets beyond its template's length before its buffer grows.
const RENDERED_SLACK: usize = 32;

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Templates({})", self.entries.len())
    }
}

impl Default for Templates {
    fn default() -> Self {
        let mut registry = Handlebars::new();
        registry.register_escape_fn(handlebars::no_escape);
        Self { registry, entries: Vec::new() }
    }
}

impl Templates {
    /// Compile and keep a template. On a syntax error, says what is wrong in a sentence.
    pub fn add(&mut self, source: &str) -> Result<TemplateId, String> {
        let template = compile(source)?;
        let id = self.entries.len();
        let literal = match template.elements.as_slice() {
            [] => Some(String::new()),
            [TemplateElement::RawString(text)] => Some(text.clone()),
            _ => None,
        };
        let name = id.to_string();
        let roots = roots(&template);
        let pieces = if literal.is_none() { self.pieces(&template) } else { None };
        self.registry.register_template(&name, template);
        self.entries.push(Entry { name, literal, pieces, roots, source_len: source.len() });
        Ok(id)
    }

    /// Render with `data`. A template cannot fail at run time in front of a customer: a
    /// missing value renders empty (the linter reports variables nothing sets).
    pub fn render<T: TemplateData>(&self, id: TemplateId, data: &T) -> String {
        self.render_with(id, || data)
    }

    /// Render with the data `data()` gives, asked for only when the template has something
    /// to fill in (most messages are plain text).
    pub fn render_with<T: TemplateData>(&self, id: TemplateId, data: impl FnOnce() -> T) -> String {
        let Some(entry) = self.entries.get(id) else { return String::new() };
        if let Some(text) = &entry.literal {
            return text.clone();
        }
        let data = data();
        // Into a buffer of our own: `Registry::render` gives its 8 KiB output buffer as the
        // message, and a message is kept in the outbox and the journal.
        let mut text = String::with_capacity(entry.source_len + RENDERED_SLACK);
        if let Some(pieces) = &entry.pieces
            && fill(pieces, &data, &mut text)
        {
            return text;
        }
        let mut text = text.into_bytes();
        text.clear();
        match self.registry.render_to_write(&entry.name, &data, &mut text) {
            Ok(()) => String::from_utf8(text).unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// A template's text and plain `{{name}}`s, when that is all it is: filled in without
    /// Handlebars, as Handlebars would fill them when each name is a string (no escaping,
    /// no indenting outside partials). A name is only plain when Handlebars renders it as
    /// the value: a helper's name (`{{len}}`) is not.
    fn pieces(&self, template: &Template) -> Option<Vec<Piece>> {
        let mut pieces = Vec::new();
        for element in &template.elements {
            match element {
                TemplateElement::RawString(text) => pieces.push(Piece::Text(text.clone())),
                TemplateElement::Comment(_) => {}
                TemplateElement::Expression(h) if h.params.is_empty() && h.hash.is_empty() && !h.block => {
                    let Parameter::Path(HbPath::Relative((segments, raw))) = &h.name else { return None };
                    let one_name = matches!(segments.as_slice(), [PathSeg::Named(n)] if n == raw);
                    if !one_name || !self.renders_as_value(raw) {
                        return None;
                    }
                    pieces.push(Piece::Name(raw.clone()));
                }
                _ => return None,
            }
        }
        Some(pieces)
    }

    /// True when Handlebars renders `{{name}}` as the string `name` holds.
    fn renders_as_value(&self, name: &str) -> bool {
        const PROBE: &str = "\u{1}probe\u{2}";
        let source = format!("{{{{{name}}}}}");
        let data = serde_json::json!({ name: PROBE });
        self.registry.render_template(&source, &data).is_ok_and(|out| out == PROBE)
    }

    /// The top-level names the template reads, when known: its data may leave out the rest.
    pub fn roots(&self, id: TemplateId) -> Option<&[String]> {
        self.entries.get(id).and_then(|e| e.roots.as_deref())
    }
}

/// Fill `pieces` in from `data` into `out`; false (and `out` half written) when a name is not
/// a string there.
fn fill(pieces: &[Piece], data: &impl TemplateData, out: &mut String) -> bool {
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Name(name) => match data.text(name) {
                Some(value) => out.push_str(value),
                None => return false,
            },
        }
    }
    true
}

/// Compile a template, with a readable error.
pub fn compile(source: &str) -> Result<Template, String> {
    Template::compile(source).map_err(|e| {
        let what = match e.reason() {
            TemplateErrorReason::InvalidSyntax(_) => {
                "invalid template syntax: an unclosed `{{`, a block without its `{{/...}}`, or a stray brace"
                    .to_string()
            }
            other => format!("invalid template: {other}"),
        };
        match e.pos() {
            Some((line, col)) => format!("{what} (template line {line}, column {col})"),
            None => what,
        }
    })
}

/// The top-level names a template reads when it is only text and plain `{{path}}`s, as most
/// messages are (`Thanks, order {{order}}.` reads `order`); `None` when it uses helpers or
/// blocks, which then get all the data.
fn roots(template: &Template) -> Option<Vec<String>> {
    let mut roots = Vec::new();
    for element in &template.elements {
        match element {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            TemplateElement::Expression(h) if h.params.is_empty() && h.hash.is_empty() && !h.block => {
                let raw = match &h.name {
                    Parameter::Path(HbPath::Relative((_, raw))) | Parameter::Name(raw) => raw,
                    _ => return None,
                };
                let root = raw.split(['.', '[', '/']).next().unwrap_or_default();
                let plain = !root.is_empty() && root.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
                if !plain || root == "this" {
                    return None;
                }
                roots.push(root.to_string());
            }
            _ => return None,
        }
    }
    Some(roots)
}

/// The variables a template reads, as written (`user.first_name`, `order_id`). Paths inside
/// `each`/`with` blocks are relative to the item and are left out.
pub fn variables(template: &Template) -> Vec<String> {
    let mut found = Vec::new();
    collect(template, &mut found);
    found
}

fn collect(template: &Template, found: &mut Vec<String>) {
    for element in &template.elements {
        match element {
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) | TemplateElement::HelperBlock(h) => {
                for param in std::iter::once(&h.name).chain(&h.params).chain(h.hash.values()) {
                    if let Parameter::Path(HbPath::Relative((_, raw))) = param {
                        found.push(raw.clone());
                    }
                }
                let scoped = matches!(&h.name, Parameter::Name(n) if n == "each" || n == "with");
                if !scoped {
                    h.template.iter().chain(&h.inverse).for_each(|t| collect(t, found));
                } else if let Some(inverse) = &h.inverse {
                    collect(inverse, found);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_variables_outside_item_scopes() {
        let t = compile("Hi {{user.first_name}} {{#if order_id}}{{order_id}}{{else}}{{x}}{{/if}} {{#each items}}{{this.q}}{{/each}}").unwrap();
        assert_eq!(variables(&t), ["user.first_name", "order_id", "order_id", "x", "items"]);
    }

    #[test]
    fn renders_without_html_escaping_and_missing_as_empty() {
        let mut templates = Templates::default();
        let id = templates.add("{{a}} & {{b}}").unwrap();
        assert_eq!(templates.render(id, &serde_json::json!({"a": "<Tom & Jerry>"})), "<Tom & Jerry> & ");
    }

    #[test]
    fn a_rendered_message_is_about_as_large_as_its_text() {
        // It is kept in the outbox and the journal; handlebars' own buffer is 8 KiB.
        let mut templates = Templates::default();
        let id = templates.add("Thanks, order {{order}}. Please describe the issue.").unwrap();
        let text = templates.render(id, &serde_json::json!({"order": "ORD-00042"}));
        assert_eq!(text, "Thanks, order ORD-00042. Please describe the issue.");
        assert!(text.capacity() < 128, "{}", text.capacity());
    }

    #[test]
    fn plain_text_is_not_rendered_and_needs_no_data() {
        let mut templates = Templates::default();
        let plain = templates.add("Hello & welcome").unwrap();
        let empty = templates.add("").unwrap();
        let filled = templates.add("Hi {{a}}").unwrap();
        let no_data = || -> serde_json::Value { panic!("plain text asked for data") };
        assert_eq!(templates.render_with(plain, no_data), "Hello & welcome");
        assert_eq!(templates.render_with(empty, no_data), "");
        assert_eq!(templates.render_with(filled, || serde_json::json!({"a": "Jo"})), "Hi Jo");
    }

    #[test]
    fn plain_paths_name_the_data_they_need_and_helpers_get_everything() {
        let roots = |source: &str| roots(&compile(source).unwrap());
        assert_eq!(
            roots("Thanks, order {{order}}. Hi {{user.first_name}}!"),
            Some(vec!["order".into(), "user".into()])
        );
        assert_eq!(roots("{{#if vip}}Welcome back{{/if}}"), None);
        assert_eq!(roots("{{lookup rows key}}"), None);
        assert_eq!(roots("{{this}}"), None);
        let mut templates = Templates::default();
        let id = templates.add("Order {{order}} for {{user.name}}").unwrap();
        assert_eq!(templates.roots(id), Some(&["order".to_string(), "user".to_string()][..]));
        let data = serde_json::json!({"order": "ORD-1", "user": {"name": "Kim"}});
        assert_eq!(templates.render(id, &data), "Order ORD-1 for Kim");
    }

    #[test]
    fn plain_names_are_filled_in_as_handlebars_fills_them() {
        let mut handlebars = Handlebars::new();
        handlebars.register_escape_fn(handlebars::no_escape);
        let sources = [
            "Thanks, order {{order}}. Please describe the issue.",
            "{{order}}{{order}}",
            "a {{ order }} b {{! a comment }} c",
            "a {{~order~}} b",
            "{{{order}}} & {{order}}",
            "{{len}} and {{if}}",
            "{{order.id}} {{user.name}}",
            "{{n}} {{t}} {{nothing}} {{empty}}",
            "{{list}} {{object}} {{none}}",
            "naïve {{order}} ✓\n{{order}}",
        ];
        let data = serde_json::json!({
            "order": "<ORD-1 & co>", "len": "x", "if": "y", "user": {"name": "Kim"}, "n": 2.5, "t": true,
            "empty": "", "list": ["a", 1], "object": {"a": 1}, "none": null,
        });
        let mut templates = Templates::default();
        for source in sources {
            let id = templates.add(source).unwrap();
            let expected = handlebars.render_template(source, &data).unwrap_or_default();
            assert_eq!(templates.render(id, &data), expected, "{source}");
        }
        let mut templates = Templates::default();
        let mut fast = |source: &str| {
            let id = templates.add(source).unwrap();
            templates.entries[id].pieces.is_some()
        };
        assert!(fast("Thanks, order {{order}}. {{! note }}Bye {{ name }}"));
        assert!(!fast("{{len}}"), "a helper's name");
        assert!(!fast("{{user.name}}"), "a path");
        assert!(!fast("{{#if a}}b{{/if}}"), "a block");
        assert!(!fast("{{lookup a b}}"), "a helper");
    }

    #[test]
    fn syntax_errors_are_sentences() {
        let err = compile("Hi {{#if a}}").unwrap_err();
        assert!(err.starts_with("invalid template syntax"), "{err}");
    }
}
