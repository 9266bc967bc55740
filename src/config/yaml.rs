//! Small YAML helpers: finding the line of a dotted key (for error messages), and turning a
//! YAML value into a `config` crate value (for environment overrides).

use std::collections::HashMap;

use config::{Value, ValueKind};

/// The 1-based line of `dotted` (`gravity.gunicorn.workers`) in `text`, found by following
/// each key at a deeper indentation than its parent. A segment `key[n]` goes on to the n-th
/// `- ` item of the list under `key` (the line of `key` itself when it holds no such item).
pub fn find_key_line(text: &str, dotted: &str) -> Option<usize> {
    let mut from = 0usize;
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    let lines: Vec<&str> = text.lines().collect();
    let indent_of = |line: &str| line.len() - line.trim_start().len();
    let blank = |line: &str| {
        let t = line.trim_start();
        t.is_empty() || t.starts_with('#')
    };
    for segment in dotted.split('.').filter(|s| !s.is_empty()) {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().skip(from) {
            if blank(line) {
                continue;
            }
            let indent = indent_of(line);
            if parent_indent.is_some_and(|p| indent <= p) && i > from {
                break;
            }
            let key = line.trim_start().trim_start_matches("- ");
            if key
                .strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
            {
                hit = Some((i, indent));
                break;
            }
        }
        let (mut i, mut indent) = hit?;
        if let Some(n) = index {
            // The list's items sit at the key's indentation or deeper.
            let mut seen = 0;
            let mut item_indent = None;
            for (j, line) in lines.iter().enumerate().skip(i + 1) {
                if blank(line) {
                    continue;
                }
                let ind = indent_of(line);
                let item = line.trim_start().starts_with("- ") || line.trim() == "-";
                if ind < indent || (ind == indent && !item) {
                    break;
                }
                if item && *item_indent.get_or_insert(ind) == ind {
                    if seen == n {
                        (i, indent) = (j, ind);
                        break;
                    }
                    seen += 1;
                }
            }
        }
        found = Some(i + 1);
        from = i + 1;
        parent_indent = Some(indent);
        if index.is_some()
            && lines
                .get(i)
                .is_some_and(|l| l.trim_start().starts_with("- "))
        {
            // The item's first key is on the item's own line.
            from = i;
        }
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

    #[test]
    fn finds_list_items() {
        let text = "envs:\n  a:\n    resubmit:\n    - condition: x\n      environment: b\n    - condition: y\n      delay: 5\n    env:\n      - name: A\n        value: 1\n      - file: /f\n";
        assert_eq!(find_key_line(text, "envs.a.resubmit[0].condition"), Some(4));
        assert_eq!(
            find_key_line(text, "envs.a.resubmit[0].environment"),
            Some(5)
        );
        assert_eq!(find_key_line(text, "envs.a.resubmit[1].condition"), Some(6));
        assert_eq!(find_key_line(text, "envs.a.resubmit[1].delay"), Some(7));
        assert_eq!(find_key_line(text, "envs.a.resubmit[1]"), Some(6));
        assert_eq!(find_key_line(text, "envs.a.env[1].file"), Some(11));
        assert_eq!(find_key_line(text, "envs.a.env[0].value"), Some(10));
        // Not a list: the key's own line.
        let text = "a:\n  resubmit:\n    condition: x\n";
        assert_eq!(find_key_line(text, "a.resubmit[0].condition"), Some(3));
    }
}
