//! Small YAML helpers: finding the line of a dotted key (for error messages), and turning a
//! YAML value into a `config` crate value (for environment overrides).

use std::collections::HashMap;

use config::{Value, ValueKind};

/// The 1-based line of `dotted` (`gravity.gunicorn.workers`) in `text`, found by following
/// each key at a deeper indentation than its parent.
pub fn find_key_line(text: &str, dotted: &str) -> Option<usize> {
    let mut from = 0usize;
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    let lines: Vec<&str> = text.lines().collect();
    for segment in dotted.split('.').filter(|s| !s.is_empty()) {
        let segment = segment.split('[').next().unwrap_or(segment);
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(from) {
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if parent_indent.is_some_and(|p| indent <= p) && i > from {
                break;
            }
            let key = trimmed.trim_start_matches("- ");
            if key
                .strip_prefix(segment)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
            {
                hit = Some((i, indent));
                break;
            }
        }
        let (i, indent) = hit?;
        found = Some(i + 1);
        from = i + 1;
        parent_indent = Some(indent);
    }
    found
}

/// Converts YAML into the `config` crate's value tree.
pub fn yaml_to_config(v: &serde_yaml::Value) -> Value {
    let kind = match v {
        serde_yaml::Value::Null => ValueKind::Nil,
        serde_yaml::Value::Bool(b) => ValueKind::Boolean(*b),
        serde_yaml::Value::Number(n) => match n.as_i64() {
            Some(i) => ValueKind::I64(i),
            None => ValueKind::Float(n.as_f64().unwrap_or_default()),
        },
        serde_yaml::Value::String(s) => ValueKind::String(s.clone()),
        serde_yaml::Value::Sequence(items) => {
            ValueKind::Array(items.iter().map(yaml_to_config).collect())
        }
        serde_yaml::Value::Mapping(m) => {
            let table: HashMap<String, Value> = m
                .iter()
                .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), yaml_to_config(v))))
                .collect();
            ValueKind::Table(table)
        }
        serde_yaml::Value::Tagged(t) => return yaml_to_config(&t.value),
    };
    Value::new(None, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys() {
        let text = "gravity:\n  gunicorn:\n    bind: x\n    workers: lots\ngalaxy:\n  workers: 3\n";
        assert_eq!(find_key_line(text, "gravity.gunicorn.workers"), Some(4));
        assert_eq!(find_key_line(text, "galaxy.workers"), Some(6));
        assert_eq!(find_key_line(text, "galaxy.nothing"), None);
    }
}
