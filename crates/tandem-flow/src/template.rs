//! Message templates: Handlebars, compiled when a bot loads, rendered as plain text (no HTML
//! escaping: chat is not a web page). Also lists the variables a template reads, for the
//! linter.

use handlebars::template::{Parameter, Template, TemplateElement};
use handlebars::{Handlebars, Path as HbPath, TemplateErrorReason};
use serde::Serialize;

/// A compiled template's handle within its bot.
pub type TemplateId = usize;

/// Every template of a bot.
pub struct Templates {
    registry: Handlebars<'static>,
    /// Per template: its registry name, and its text when it has nothing to fill in.
    entries: Vec<Entry>,
}

struct Entry {
    name: String,
    literal: Option<String>,
    /// The top-level names it reads, when that is all it needs (see [`roots`]).
    roots: Option<Vec<String>>,
    /// Bytes of its source: a rendered message is about as long.
    source_len: usize,
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
        self.registry.register_template(&name, template);
        self.entries.push(Entry { name, literal, roots, source_len: source.len() });
        Ok(id)
    }

    /// Render with `data`. A template cannot fail at run time in front of a customer: a
    /// missing value renders empty (the linter reports variables nothing sets).
    pub fn render<T: Serialize>(&self, id: TemplateId, data: &T) -> String {
        self.render_with(id, || data)
    }

    /// Render with the data `data()` gives, asked for only when the template has something
    /// to fill in (most messages are plain text).
    pub fn render_with<T: Serialize>(&self, id: TemplateId, data: impl FnOnce() -> T) -> String {
        let Some(entry) = self.entries.get(id) else { return String::new() };
        match &entry.literal {
            Some(text) => text.clone(),
            None => {
                // Into a buffer of our own: `Registry::render` gives its 8 KiB output buffer
                // as the message, and a message is kept in the outbox and the journal.
                let mut text = Vec::with_capacity(entry.source_len + RENDERED_SLACK);
                match self.registry.render_to_write(&entry.name, &data(), &mut text) {
                    Ok(()) => String::from_utf8(text).unwrap_or_default(),
                    Err(_) => String::new(),
                }
            }
        }
    }

    /// The top-level names the template reads, when known: its data may leave out the rest.
    pub fn roots(&self, id: TemplateId) -> Option<&[String]> {
        self.entries.get(id).and_then(|e| e.roots.as_deref())
    }
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
    fn syntax_errors_are_sentences() {
        let err = compile("Hi {{#if a}}").unwrap_err();
        assert!(err.starts_with("invalid template syntax"), "{err}");
    }
}
