//! Hand-written SQL run as a prepared statement the connection keeps. diesel's `sql_query` is
//! never cached: each run is prepared, planned and executed anew (two round trips on
//! PostgreSQL). [`Prepared`] is keyed by its text in diesel's statement cache like any query
//! built with the DSL, so the hot hand-written statements (claims, batched transitions) cost
//! one round trip.
//!
//! The text numbers its values PostgreSQL's way (`$1`, `$2`, …; SQLite's `?1` is accepted too);
//! a value may be used more than once; inside a string literal nothing is a placeholder.

use diesel::QueryResult;
use diesel::RunQueryDsl;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Text, Timestamp, Untyped};
use diesel::sqlite::Sqlite;

/// A value bound to a [`Prepared`] statement.
#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    BigInt(i64),
    Timestamp(chrono::NaiveDateTime),
    /// PostgreSQL only (`text[]`).
    TextArray(Vec<String>),
}

/// SQL text and its values.
#[derive(Debug, Clone)]
pub struct Prepared {
    sql: String,
    values: Vec<Value>,
}

impl Prepared {
    pub fn new(sql: impl Into<String>, values: Vec<Value>) -> Self {
        Prepared {
            sql: sql.into(),
            values,
        }
    }

    /// The text split at its placeholders: (SQL before, index of the value).
    fn pieces(&self) -> Vec<(&str, Option<usize>)> {
        let bytes = self.sql.as_bytes();
        let mut out = Vec::new();
        let (mut start, mut i) = (0, 0);
        // Inside a string literal (quotes doubled within it) nothing is a placeholder.
        let mut quoted = false;
        while i < bytes.len() {
            if bytes[i] == b'\'' {
                quoted = !quoted;
                i += 1;
            } else if !quoted
                && (bytes[i] == b'$' || bytes[i] == b'?')
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            {
                let mut j = i + 1;
                while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
                let n: usize = self.sql[i + 1..j].parse().unwrap_or(0);
                out.push((&self.sql[start..i], n.checked_sub(1)));
                start = j;
                i = j;
            } else {
                i += 1;
            }
        }
        out.push((&self.sql[start..], None));
        out
    }

    fn value(&self, index: usize) -> QueryResult<&Value> {
        self.values.get(index).ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(
                format!("no value ${} for: {}", index + 1, self.sql).into(),
            )
        })
    }
}

impl QueryId for Prepared {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared {
    type SqlType = Untyped;
}

impl<C> RunQueryDsl<C> for Prepared {}

impl QueryFragment<Pg> for Prepared {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (sql, index) in self.pieces() {
            out.push_sql(sql);
            if let Some(index) = index {
                match self.value(index)? {
                    Value::Text(v) => out.push_bind_param::<Text, _>(v)?,
                    Value::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                    Value::Timestamp(v) => out.push_bind_param::<Timestamp, _>(v)?,
                    Value::TextArray(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                }
            }
        }
        Ok(())
    }
}

impl QueryFragment<Sqlite> for Prepared {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        for (sql, index) in self.pieces() {
            out.push_sql(sql);
            if let Some(index) = index {
                match self.value(index)? {
                    Value::Text(v) => out.push_bind_param::<Text, _>(v)?,
                    Value::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                    Value::Timestamp(v) => out.push_bind_param::<Timestamp, _>(v)?,
                    Value::TextArray(_) => {
                        return Err(diesel::result::Error::QueryBuilderError(
                            "text[] values exist on PostgreSQL only".into(),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_split_the_text_and_may_repeat() {
        let p = Prepared::new("SELECT $1, $2::json WHERE a = $1 AND b = ?3", vec![]);
        let pieces: Vec<_> = p.pieces();
        assert_eq!(
            pieces,
            vec![
                ("SELECT ", Some(0)),
                (", ", Some(1)),
                ("::json WHERE a = ", Some(0)),
                (" AND b = ", Some(2)),
                ("", None),
            ]
        );
    }

    #[test]
    fn nothing_inside_a_string_literal_is_a_placeholder() {
        let p = Prepared::new("SELECT 'a$1''?2' || $1", vec![]);
        assert_eq!(
            p.pieces(),
            vec![("SELECT 'a$1''?2' || ", Some(0)), ("", None)]
        );
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_panic() {
        let p = Prepared::new("SELECT $2", vec![Value::BigInt(1)]);
        assert!(p.value(1).is_err());
    }
}
