//! Galaxy's job and dataset states, and the one place they are mapped to the strings stored in
//! the database and shown by the API.
//!
//! Both are `Text` columns on both backends (diesel `ToSql`/`FromSql`), serialized as their
//! lowercase names. A string read from the database that is no state is an error naming it.
//! Hand-written SQL that must stay one cached plan (claims, batched transitions) and the
//! partial indexes' predicates write the states as literals; those literals are these names.

use std::fmt;
use std::str::FromStr;

use diesel::deserialize::{self, FromSql};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteValue};
use serde::{Deserialize, Serialize};

/// A string that names no state of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} state '{value}'")]
pub struct UnknownState {
    /// `job` or `dataset`.
    pub kind: &'static str,
    pub value: String,
}

/// Declares a state enum: its variants and their names, in one list.
macro_rules! states {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize, AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[serde(rename_all = "snake_case")]
        #[diesel(sql_type = Text)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every state, in Galaxy's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The state's name, as stored and as the API shows it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownState;

            fn from_str(s: &str) -> Result<Self, UnknownState> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownState {
                        kind: $kind,
                        value: s.to_string(),
                    }),
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = UnknownState;

            fn try_from(s: &str) -> Result<Self, UnknownState> {
                s.parse()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl ToSql<Text, Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(self.as_str());
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                Ok(std::str::from_utf8(value.as_bytes())?.parse()?)
            }
        }

        impl FromSql<Text, Sqlite> for $name {
            fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
                Ok(text.parse()?)
            }
        }
    };
}

states! {
    /// Galaxy's job states.
    JobState, "job" {
        New = "new",
        Upload = "upload",
        Waiting = "waiting",
        Queued = "queued",
        Running = "running",
        Ok = "ok",
        Error = "error",
        Paused = "paused",
        Deleting = "deleting",
        Deleted = "deleted",
        Stop = "stop",
        Stopped = "stopped",
        Skipped = "skipped",
    }
}

states! {
    /// Galaxy's dataset states.
    DatasetState, "dataset" {
        New = "new",
        Upload = "upload",
        Queued = "queued",
        Running = "running",
        Ok = "ok",
        Empty = "empty",
        Error = "error",
        Paused = "paused",
        SettingMetadata = "setting_metadata",
        FailedMetadata = "failed_metadata",
        Deferred = "deferred",
        Discarded = "discarded",
    }
}

impl JobState {
    /// The states of the jobs being worked on: those of the partial index
    /// `ix_job_handler_active`, in the order its predicate names them.
    pub const ACTIVE: [JobState; 4] = [
        JobState::New,
        JobState::Queued,
        JobState::Running,
        JobState::Deleting,
    ];

    /// A job in this state will not change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Ok
                | JobState::Error
                | JobState::Deleted
                | JobState::Stopped
                | JobState::Skipped
        )
    }
}

impl DatasetState {
    /// A dataset in this state will never become `ok`: a job waiting on it can never run.
    pub fn is_failed(self) -> bool {
        matches!(
            self,
            DatasetState::Error
                | DatasetState::Paused
                | DatasetState::Discarded
                | DatasetState::FailedMetadata
        )
    }
}

/// What a job should do about its input datasets.
#[derive(Debug, PartialEq, Eq)]
pub enum InputsReadiness {
    Ready,
    Wait,
    /// An input failed or was deleted: the job pauses.
    Failed,
}

impl InputsReadiness {
    /// Classifies input datasets `(state, deleted)`.
    pub fn of(inputs: impl IntoIterator<Item = (DatasetState, bool)>) -> InputsReadiness {
        let mut wait = false;
        for (state, deleted) in inputs {
            if deleted || state.is_failed() {
                return InputsReadiness::Failed;
            }
            if state != DatasetState::Ok {
                wait = true;
            }
        }
        if wait {
            InputsReadiness::Wait
        } else {
            InputsReadiness::Ready
        }
    }
}

/// The quoted words of a hand-written SQL text that name neither a job nor a dataset state
/// and are not among `others`: such a text writes its states as literals, and a misspelt one
/// would match nothing.
#[cfg(test)]
pub(crate) fn unknown_state_literals<'a>(sql: &'a str, others: &[&str]) -> Vec<&'a str> {
    sql.split('\'')
        .skip(1)
        .step_by(2)
        .filter(|w| w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .filter(|w| {
            w.parse::<JobState>().is_err()
                && w.parse::<DatasetState>().is_err()
                && !others.contains(w)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness() {
        use DatasetState as D;
        assert_eq!(
            InputsReadiness::of([(D::Ok, false), (D::Ok, false)]),
            InputsReadiness::Ready
        );
        assert_eq!(
            InputsReadiness::of([(D::Ok, false), (D::Running, false)]),
            InputsReadiness::Wait
        );
        assert_eq!(
            InputsReadiness::of([(D::Queued, false), (D::Error, false)]),
            InputsReadiness::Failed
        );
        assert_eq!(
            InputsReadiness::of([(D::Ok, true)]),
            InputsReadiness::Failed
        );
        assert_eq!(InputsReadiness::of([]), InputsReadiness::Ready);
    }

    #[test]
    fn names_round_trip() {
        for &s in JobState::ALL {
            assert_eq!(s.as_str().parse::<JobState>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
            assert_eq!(
                serde_json::from_value::<JobState>(serde_json::json!(s.as_str())).unwrap(),
                s
            );
        }
        for &s in DatasetState::ALL {
            assert_eq!(DatasetState::try_from(s.as_str()), Ok(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(JobState::ALL.len(), 13);
        assert_eq!(DatasetState::ALL.len(), 12);
        assert_eq!(
            serde_json::to_value(DatasetState::FailedMetadata).unwrap(),
            serde_json::json!("failed_metadata")
        );
    }

    #[test]
    fn an_unknown_name_is_an_error_naming_it() {
        let e = "finished".parse::<JobState>().unwrap_err();
        assert_eq!(e.to_string(), "unknown job state 'finished'");
        let e = DatasetState::try_from("Ok").unwrap_err();
        assert_eq!(e.to_string(), "unknown dataset state 'Ok'");
    }

    #[test]
    fn terminal_and_failed() {
        let terminal: Vec<&str> = JobState::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(terminal, ["ok", "error", "deleted", "stopped", "skipped"]);
        let failed: Vec<&str> = DatasetState::ALL
            .iter()
            .filter(|s| s.is_failed())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(failed, ["error", "paused", "failed_metadata", "discarded"]);
    }
}
