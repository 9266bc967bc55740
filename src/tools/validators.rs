//! A `<param>`'s `<validator>`s (Galaxy's `lib/galaxy/tools/parameters/validation.py`):
//! `regex` (matched at the start of the value, as Python's `re.match`), `in_range`
//! (`min`/`max`/`exclude_min`/`exclude_max`), `length` (`min`/`max`), `empty_field` and
//! `expression` (a Python expression over `value`, see `expression`), each with `message`
//! (`%s` is the value; Galaxy's default message when absent) and `negate`.
//! Validators on datasets (`metadata`, `unspecified_build`, `dataset_ok_validator`, …) are
//! accepted on data params and not checked; any other type is refused at load.

use regex::Regex;

use super::dom::Element;
use super::params::{bool_attr, number_attr};
use super::xml::Ctx;
use super::{ParamKind, ParamValue, ToolError};

/// Validators of datasets: accepted on data params, not checked here.
const DATASET_TYPES: &[&str] = &[
    "metadata",
    "dataset_metadata_equal",
    "unspecified_build",
    "empty_dataset",
    "empty_extra_files_path",
    "dataset_metadata_in_data_table",
    "dataset_metadata_not_in_data_table",
    "dataset_metadata_in_range",
    "dataset_metadata_in_file",
    "dataset_ok_validator",
];

#[derive(Debug, Clone)]
pub struct Validator {
    pub check: Check,
    pub negate: bool,
    /// The `message` attribute, or Galaxy's default for this validator.
    pub message: String,
}

#[derive(Debug, Clone)]
pub enum Check {
    /// The expression as written, and compiled anchored at the start.
    Regex {
        expression: String,
        anchored: Regex,
    },
    InRange {
        min: Option<f64>,
        max: Option<f64>,
        exclude_min: bool,
        exclude_max: bool,
    },
    Length {
        min: Option<i64>,
        max: Option<i64>,
    },
    EmptyField,
    /// `expression`: a Python expression over `value` (see `expression`).
    Expression {
        expression: String,
        template: super::cheetah::Template,
    },
    /// A dataset validator, not checked.
    Dataset,
}

/// A bound as Galaxy's message shows it (`1` for `min="1"`, `None` when absent).
fn bound(v: Option<f64>) -> String {
    match v {
        None => "None".into(),
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Some(f) => super::template::float_text(f),
    }
}

fn default_message(check: &Check, negate: bool) -> String {
    let not = if negate { "not " } else { "" };
    match check {
        Check::Regex { expression, .. } => {
            let not = if negate { "" } else { "not " };
            let expression = expression.replace('%', "%%");
            format!("Value '%s' does {not}match regular expression '{expression}'")
        }
        Check::InRange {
            min,
            max,
            exclude_min,
            exclude_max,
        } => {
            let op = |ex: bool| if ex { "<" } else { "<=" };
            format!(
                "Value ('%s') must {not}fulfill ({} {} value {} {})",
                bound(*min),
                op(*exclude_min),
                op(*exclude_max),
                bound(*max)
            )
        }
        Check::Length { min, max } => {
            let show = |v: Option<i64>| v.map_or("None".to_string(), |n| n.to_string());
            format!(
                "Must {not}have length of at least {} and at most {}",
                show(*min),
                show(*max)
            )
        }
        Check::EmptyField if negate => "Field must not set a value".into(),
        Check::EmptyField => "Field requires a value".into(),
        Check::Expression { expression, .. } => {
            let truth = if negate { "False" } else { "True" };
            let expression = expression.replace('%', "%%");
            format!("Value '%s' does not evaluate to {truth} for '{expression}'")
        }
        Check::Dataset => "Parameter validation error.".into(),
    }
}

/// One `<validator>` of a param of kind `kind`.
pub(crate) fn parse_validator(
    cx: &Ctx<'_>,
    el: &Element,
    kind: &ParamKind,
) -> Result<Validator, ToolError> {
    let type_name = el.attr("type").unwrap_or_default().trim();
    let construct = || format!("validator type=\"{type_name}\"");
    let is_data = matches!(kind, ParamKind::Data { .. });
    let check = match type_name {
        // On a dataset, as the dataset validators: accepted, not checked.
        "expression" if is_data => Check::Dataset,
        "expression" => super::expression::parse(cx, el)?,
        _ if DATASET_TYPES.contains(&type_name) => {
            if !is_data {
                return Err(cx.invalid(el, construct(), "a dataset validator needs a data param"));
            }
            Check::Dataset
        }
        "regex" | "in_range" | "length" | "empty_field"
            if is_data
                || matches!(
                    kind,
                    ParamKind::Boolean { .. } | ParamKind::DataColumn { .. }
                ) =>
        {
            let message = "not supported on this parameter type";
            return Err(cx.invalid(el, construct(), message));
        }
        "regex" => {
            let expression = el.text.clone();
            if expression.is_empty() {
                return Err(cx.invalid(el, construct(), "the expression (element text) is empty"));
            }
            let anchored = Regex::new(&format!(r"\A(?:{expression})")).map_err(|e| {
                let construct = format!("<validator type=\"regex\">{expression}</validator>");
                let first = e.to_string().lines().last().unwrap_or_default().to_string();
                cx.invalid(
                    el,
                    construct,
                    &format!("the expression does not compile: {first}"),
                )
            })?;
            Check::Regex {
                expression,
                anchored,
            }
        }
        "in_range" => {
            let min: Option<f64> = number_attr(cx, el, "min", "a real number")?;
            let max: Option<f64> = number_attr(cx, el, "max", "a real number")?;
            if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                return Err(cx.invalid(el, construct(), "min must be less than or equal to max"));
            }
            Check::InRange {
                min,
                max,
                exclude_min: bool_attr(cx, el, "exclude_min")?.unwrap_or(false),
                exclude_max: bool_attr(cx, el, "exclude_max")?.unwrap_or(false),
            }
        }
        "length" => Check::Length {
            min: number_attr(cx, el, "min", "an integer")?,
            max: number_attr(cx, el, "max", "an integer")?,
        },
        "empty_field" => Check::EmptyField,
        "" => return Err(cx.invalid(el, "<validator>".into(), "missing attribute 'type'")),
        _ => {
            let message = "unsupported validator type (supported: regex, in_range, length, \
                           empty_field, expression; dataset validators are accepted on data \
                           params)";
            return Err(cx.invalid(el, construct(), message));
        }
    };
    let negate = bool_attr(cx, el, "negate")?.unwrap_or(false);
    let message = match el.attr("message") {
        Some(m) => m.to_string(),
        None => default_message(&check, negate),
    };
    Ok(Validator {
        check,
        negate,
        message,
    })
}

/// The texts a value is validated as (none for datasets and columns).
fn texts(value: &ParamValue) -> Vec<String> {
    match value {
        ParamValue::Text(s) | ParamValue::Select(s) => vec![s.clone()],
        ParamValue::SelectList(list) => list.clone(),
        ParamValue::Integer(i) => vec![i.to_string()],
        ParamValue::Float(f) => vec![super::template::float_text(*f)],
        _ => Vec::new(),
    }
}

impl Validator {
    /// `Err` with the message (`%s` replaced by the value) when `value` fails.
    pub(crate) fn validate(&self, value: &ParamValue) -> Result<(), String> {
        for text in texts(value) {
            // What `%s` in the message shows, as Galaxy: the value, the length for `length`,
            // nothing for `empty_field`.
            let mut shown = text.clone();
            let passes = match &self.check {
                Check::Dataset => continue,
                Check::Regex { anchored, .. } => anchored.is_match(&text),
                Check::Expression { template, .. } => {
                    super::expression::passes(template, value, &text)
                }
                Check::EmptyField => {
                    shown.clear();
                    !text.is_empty()
                }
                Check::Length { min, max } => {
                    let n = text.chars().count() as i64;
                    shown = n.to_string();
                    min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)
                }
                Check::InRange {
                    min,
                    max,
                    exclude_min,
                    exclude_max,
                } => match text.trim().parse::<f64>() {
                    Err(_) => false,
                    Ok(v) => {
                        let above = |m: f64| if *exclude_min { v > m } else { v >= m };
                        let below = |m: f64| if *exclude_max { v < m } else { v <= m };
                        min.is_none_or(above) && max.is_none_or(below)
                    }
                },
            };
            if passes == self.negate {
                return Err(format_message(&self.message, &shown));
            }
        }
        Ok(())
    }
}

/// Python's `message % value`, which Galaxy applies when the message has a `%s` and there is
/// a value to show: `%s` is the value, `%%` is `%`.
fn format_message(message: &str, shown: &str) -> String {
    if shown.is_empty() || !message.contains("%s") {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len() + shown.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('%', Some('s')) => {
                chars.next();
                out.push_str(shown);
            }
            ('%', Some('%')) => {
                chars.next();
                out.push('%');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(check: Check, negate: bool) -> Validator {
        let message = default_message(&check, negate);
        Validator {
            check,
            negate,
            message,
        }
    }

    fn regex(e: &str) -> Check {
        Check::Regex {
            expression: e.into(),
            anchored: Regex::new(&format!(r"\A(?:{e})")).unwrap(),
        }
    }

    fn text(s: &str) -> ParamValue {
        ParamValue::Text(s.into())
    }

    #[test]
    fn regex_matches_at_start_like_re_match() {
        let r = v(regex("[a-z]+"), false);
        assert!(r.validate(&text("abc1")).is_ok());
        assert_eq!(
            r.validate(&text("1abc")).unwrap_err(),
            "Value '1abc' does not match regular expression '[a-z]+'"
        );
        let full = v(regex("[a-z]+$"), false);
        assert!(full.validate(&text("abc1")).is_err());
        let neg = v(regex("x"), true);
        assert!(neg.validate(&text("abc")).is_ok());
        assert_eq!(
            neg.validate(&text("xa")).unwrap_err(),
            "Value 'xa' does match regular expression 'x'"
        );
    }

    #[test]
    fn in_range_bounds_and_exclusion() {
        let range = |exclude_min, exclude_max| Check::InRange {
            min: Some(1.0),
            max: Some(10.0),
            exclude_min,
            exclude_max,
        };
        let inclusive = v(range(false, false), false);
        assert!(inclusive.validate(&ParamValue::Integer(1)).is_ok());
        assert!(inclusive.validate(&ParamValue::Float(10.0)).is_ok());
        assert_eq!(
            inclusive.validate(&ParamValue::Integer(11)).unwrap_err(),
            "Value ('11') must fulfill (1 <= value <= 10)"
        );
        let exclusive = v(range(true, true), false);
        assert!(exclusive.validate(&ParamValue::Integer(1)).is_err());
        assert!(exclusive.validate(&ParamValue::Integer(10)).is_err());
        assert!(exclusive.validate(&ParamValue::Integer(5)).is_ok());
        assert!(
            v(range(false, false), true)
                .validate(&ParamValue::Integer(5))
                .is_err()
        );
        assert!(inclusive.validate(&text("not a number")).is_err());
    }

    #[test]
    fn length_and_empty_field() {
        let len = v(
            Check::Length {
                min: Some(2),
                max: Some(3),
            },
            false,
        );
        assert!(len.validate(&text("ab")).is_ok());
        assert!(len.validate(&text("éé")).is_ok());
        assert_eq!(
            len.validate(&text("abcd")).unwrap_err(),
            "Must have length of at least 2 and at most 3"
        );
        let empty = v(Check::EmptyField, false);
        assert_eq!(
            empty.validate(&text("")).unwrap_err(),
            "Field requires a value"
        );
        assert!(empty.validate(&text(" ")).is_ok());
        assert!(v(Check::EmptyField, true).validate(&text("a")).is_err());
    }

    #[test]
    fn messages_are_formatted_as_python_percent() {
        let r = v(regex("5%"), false);
        assert_eq!(
            r.validate(&text("x")).unwrap_err(),
            "Value 'x' does not match regular expression '5%'"
        );
        assert_eq!(
            r.validate(&text("")).unwrap_err(),
            "Value '%s' does not match regular expression '5%%'"
        );
        let mut len = v(
            Check::Length {
                min: None,
                max: Some(2),
            },
            false,
        );
        len.message = "%s characters is too many".into();
        assert_eq!(
            len.validate(&text("abc")).unwrap_err(),
            "3 characters is too many"
        );
    }

    #[test]
    fn custom_message_shows_value() {
        let mut r = v(regex("[0-9]+"), false);
        r.message = "'%s' is not a number".into();
        assert_eq!(r.validate(&text("x")).unwrap_err(), "'x' is not a number");
    }
}
