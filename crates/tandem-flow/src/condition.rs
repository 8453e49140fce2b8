//! Conditions in `when:` routes, e.g. `result.status == "shipped" && fallbacks < 2`.
//! Parsed and evaluated by evalexpr (a maintained evaluator, not our own parser); our part
//! is only turning a conversation's JSON values into its variables.

use evalexpr::{
    ContextWithMutableVariables, DefaultNumericTypes, EvalexprError, HashMapContext, Node, Value as ExprValue,
    build_operator_tree,
};
use serde_json::{Map, Value};

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    tree: Node<DefaultNumericTypes>,
}

impl Condition {
    pub fn parse(source: &str) -> Result<Self, String> {
        let tree = build_operator_tree(source).map_err(|e| format!("invalid condition: {e}"))?;
        // Some malformed conditions (`a <= `) only show when evaluated: try it once with
        // every variable set, and report a missing operand.
        let mut probe = HashMapContext::<DefaultNumericTypes>::new();
        for name in tree.iter_variable_identifiers() {
            let _ = probe.set_value(name.to_string(), ExprValue::Int(0));
        }
        if let Err(e @ EvalexprError::WrongOperatorArgumentAmount { .. }) = tree.eval_with_context(&probe) {
            return Err(format!("invalid condition: an operator is missing an operand ({e})"));
        }
        Ok(Self { tree })
    }

    /// The variables the condition reads, as written (`result.status`).
    pub fn variables(&self) -> Vec<String> {
        self.tree.iter_variable_identifiers().map(str::to_string).collect()
    }

    /// True when the condition holds for `data`. A condition that cannot be evaluated (a
    /// variable not set yet, a type mismatch) is false: the route is not taken.
    pub fn holds(&self, data: &Variables) -> bool {
        matches!(self.tree.eval_boolean_with_context(&data.0), Ok(true))
    }
}

/// The values a condition can read: JSON objects flattened to dotted names.
pub struct Variables(HashMapContext<DefaultNumericTypes>);

impl Variables {
    pub fn from_json(root: &Map<String, Value>) -> Self {
        let mut context = HashMapContext::new();
        for (name, value) in root {
            flatten(&mut context, name.clone(), value);
        }
        Self(context)
    }
}

fn flatten(context: &mut HashMapContext<DefaultNumericTypes>, name: String, value: &Value) {
    let converted = match value {
        Value::Object(fields) => {
            for (field, inner) in fields {
                flatten(context, format!("{name}.{field}"), inner);
            }
            return;
        }
        Value::Null => ExprValue::Empty,
        Value::Bool(b) => ExprValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ExprValue::Int(i),
            None => ExprValue::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => ExprValue::String(s.clone()),
        Value::Array(items) => ExprValue::String(
            items
                .iter()
                .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    // Names come from our own JSON keys; a rejected name only means the condition can't read it.
    let _ = context.set_value(name, converted);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Variables {
        Variables::from_json(v.as_object().unwrap())
    }

    #[test]
    fn reads_nested_values_by_dotted_name() {
        let c = Condition::parse(r#"result.status == "shipped" && fallbacks < 2"#).unwrap();
        assert!(c.holds(&vars(json!({"result": {"status": "shipped"}, "fallbacks": 1}))));
        assert!(!c.holds(&vars(json!({"result": {"status": "lost"}, "fallbacks": 1}))));
        assert_eq!(c.variables(), ["result.status", "fallbacks"]);
    }

    #[test]
    fn unknown_variables_make_it_false() {
        let c = Condition::parse("score > 3").unwrap();
        assert!(!c.holds(&vars(json!({}))));
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(Condition::parse("a == (").unwrap_err().starts_with("invalid condition"));
        assert!(
            Condition::parse("sentiment.score <= ").unwrap_err().contains("missing an operand"),
            "{:?}",
            Condition::parse("sentiment.score <= ").err()
        );
    }
}
