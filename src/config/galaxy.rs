//! `galaxy.yml`: the `gravity` and `galaxy` sections, layered with the `config` crate:
//! built-in defaults → the file → `GALAXY_CONFIG_*` environment (→ command line, applied by
//! the caller).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use super::ConfigError;
use super::gravity::GravitySettings;
use super::size::ByteSize;
use super::yaml::{find_key_line, yaml_to_config};

/// The whole effective configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub gravity: GravitySettings,
    pub galaxy: GalaxySettings,
    /// The file it was read from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// Unknown keys found in the file or environment (each also logged as a warning).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CleanupJob {
    #[default]
    Always,
    Onsuccess,
    Never,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GalaxySettings {
    pub database_connection: String,
    pub database_engine_option_pool_size: u32,
    pub job_config_file: Option<PathBuf>,
    pub tool_config_file: PathBuf,
    pub file_path: PathBuf,
    pub job_working_directory: PathBuf,
    pub id_secret: String,
    pub bootstrap_admin_api_key: Option<String>,
    #[serde(deserialize_with = "string_or_list")]
    pub admin_users: Vec<String>,
    pub allow_user_creation: bool,
    pub job_handler_monitor_sleep: f64,
    /// The workflow schedulers' fallback poll, in seconds (a new invocation wakes one at once).
    pub workflow_monitor_sleep: f64,
    pub heartbeat_interval: f64,
    pub cleanup_job: CleanupJob,
    /// When set, dataset downloads answer with `X-Accel-Redirect: <base><file path>` and an
    /// empty body, and nginx sends the file (Galaxy's option of the same name).
    pub nginx_x_accel_redirect_base: Option<String>,
    /// The largest request body the API reads into memory (every JSON body, and the part of
    /// a tool run's body that is not pasted content).
    pub api_body_limit: ByteSize,
    /// The largest body of `POST /api/tools`; pasted content in it is streamed to disk.
    pub upload_body_limit: ByteSize,
    /// Where tus uploads are kept until they become datasets (Galaxy's option of the same
    /// name); `<file_path>/tus_upload_store` when unset. On the file system of `file_path`,
    /// finishing an upload is a rename.
    pub tus_upload_store: Option<PathBuf>,
    /// Whether admins may add server files to a history by path (`src: path` in
    /// `POST /api/tools/fetch`), as Galaxy's option of the same name.
    pub allow_path_paste: bool,
    /// The local network addresses (`10.0.1.5`, `10.0.1.0/24`, `fd00::/8`) that `src: url`
    /// fetches may reach; every other private address is refused, as in Galaxy.
    #[serde(deserialize_with = "string_or_list")]
    pub fetch_url_allowlist: Vec<String>,
    // The maintenance role's periodic tasks (`src/system/maintenance/`; celery-beat's schedule
    // in Galaxy): periods in seconds (0: the task does not run on its own), ages in days.
    /// Galaxy's switch for `cleanup_jwds` (off by default, as in Galaxy).
    pub enable_failed_jobs_working_directory_cleanup: bool,
    /// `cleanup_jwds`: working directories of jobs in `error` or `deleted` older than this go.
    pub failed_jobs_working_directory_cleanup_days: f64,
    /// `cleanup_jwds`'s period.
    pub failed_jobs_working_directory_cleanup_interval: f64,
    /// `purge_deleted_datasets`: the files of datasets deleted longer ago than this are
    /// purged; unset, deleted datasets are never purged on their own (Galaxy's default).
    pub purge_deleted_datasets_after_days: Option<f64>,
    pub purge_deleted_datasets_interval: f64,
    /// `prune_worker_processes`: rows of processes whose heartbeat stopped this long ago go.
    pub prune_worker_processes_after_days: f64,
    pub prune_worker_processes_interval: f64,
    /// `database_upkeep` (SQLite: `PRAGMA optimize`, WAL checkpoint; PostgreSQL: nothing).
    pub database_upkeep_interval: f64,
    /// Galaxy's options for Celery. Only `beat_schedule` means something here (entries naming
    /// a maintenance task set its period, and `kwargs.days`); other keys are warned about.
    pub celery_conf: CeleryConf,
}

/// `galaxy.celery_conf` (there is no broker: only the beat schedule is read).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CeleryConf {
    /// Entry name → task, as Galaxy's `celery_conf.beat_schedule`.
    pub beat_schedule: BTreeMap<String, BeatEntry>,
}

/// One `beat_schedule` entry: `{task: galaxy.cleanup_jwds, schedule: 86400, kwargs: {days: 5}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BeatEntry {
    /// `galaxy.<task>` (or the bare task name).
    pub task: String,
    /// The period in seconds.
    pub schedule: f64,
    pub kwargs: BeatKwargs,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BeatKwargs {
    /// `cleanup_jwds`'s age in days.
    pub days: Option<f64>,
}

impl BeatEntry {
    /// The task it names, without Galaxy's `galaxy.` prefix.
    pub fn task_name(&self) -> &str {
        self.task.strip_prefix("galaxy.").unwrap_or(&self.task)
    }
}

impl Default for GalaxySettings {
    fn default() -> Self {
        GalaxySettings {
            database_connection: "sqlite:///database/universe.sqlite".into(),
            database_engine_option_pool_size: 5,
            job_config_file: None,
            tool_config_file: "config/tool_conf.xml".into(),
            file_path: "database/objects".into(),
            job_working_directory: "database/jobs_directory".into(),
            id_secret: "USING THE DEFAULT IS NOT SECURE!".into(),
            bootstrap_admin_api_key: None,
            admin_users: Vec::new(),
            allow_user_creation: true,
            job_handler_monitor_sleep: 1.0,
            workflow_monitor_sleep: 1.0,
            heartbeat_interval: 10.0,
            cleanup_job: CleanupJob::Always,
            nginx_x_accel_redirect_base: None,
            api_body_limit: ByteSize(16 * ByteSize::MIB),
            upload_body_limit: ByteSize(ByteSize::GIB),
            tus_upload_store: None,
            allow_path_paste: false,
            fetch_url_allowlist: Vec::new(),
            enable_failed_jobs_working_directory_cleanup: false,
            failed_jobs_working_directory_cleanup_days: 5.0,
            failed_jobs_working_directory_cleanup_interval: 3600.0,
            purge_deleted_datasets_after_days: None,
            purge_deleted_datasets_interval: 3600.0,
            prune_worker_processes_after_days: 1.0,
            prune_worker_processes_interval: 3600.0,
            database_upkeep_interval: 3600.0,
            celery_conf: CeleryConf::default(),
        }
    }
}

/// A YAML string, or a list of strings; a comma-separated string is split.
pub(super) fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        OneOrMany::Many(v) => v,
    })
}

const ENV_PREFIX: &str = "GALAXY_CONFIG_";

impl Settings {
    /// Reads `path` (or `config/galaxy.yml` when it exists, or built-in defaults), applies
    /// `GALAXY_CONFIG_*` overrides, validates, and warns about unknown keys.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// [`Settings::load`] with the environment given explicitly.
    pub fn load_with_env(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let default_path = Path::new("config/galaxy.yml");
        let path: Option<PathBuf> = match path {
            Some(p) => Some(p.to_path_buf()),
            None if default_path.exists() => Some(default_path.to_path_buf()),
            None => None,
        };
        let file_label = path
            .clone()
            .unwrap_or_else(|| PathBuf::from("(built-in defaults)"));
        let text = match &path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
                file: p.clone(),
                source,
            })?,
            None => String::new(),
        };
        let doc: serde_yaml::Value = if text.trim().is_empty() {
            serde_yaml::Value::Null
        } else {
            serde_yaml::from_str(&text).map_err(|e| ConfigError::Syntax {
                file: file_label.clone(),
                line: e.location().map(|l| l.line()),
                message: e.to_string(),
            })?
        };
        let defaults =
            serde_yaml::to_value(Settings::default()).map_err(|e| ConfigError::Syntax {
                file: file_label.clone(),
                line: None,
                message: e.to_string(),
            })?;
        let mut warnings = unknown_keys(&defaults, &doc, "");

        let mut builder = config::Config::builder().add_source(
            config::Config::try_from(&Settings::default())
                .map_err(|e| invalid(&file_label, "", &text, e))?,
        );
        if !matches!(doc, serde_yaml::Value::Null) {
            if !doc.is_mapping() {
                return Err(ConfigError::Invalid {
                    file: file_label,
                    key: "(top level)".into(),
                    line: Some(1),
                    message: "expected a mapping with `gravity:` and `galaxy:` sections".into(),
                });
            }
            builder = builder.add_source(config::File::from_str(&text, config::FileFormat::Yaml));
        }
        let known_galaxy = defaults
            .get("galaxy")
            .and_then(|g| g.as_mapping())
            .cloned()
            .unwrap_or_default();
        for (name, value) in env {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            if !known_galaxy.contains_key(serde_yaml::Value::String(key.clone())) {
                warnings.push(format!("environment {name}: unknown galaxy key `{key}`"));
                continue;
            }
            let parsed: serde_yaml::Value =
                serde_yaml::from_str(&value).unwrap_or(serde_yaml::Value::String(value.clone()));
            builder = builder
                .set_override(format!("galaxy.{key}"), yaml_to_config(&parsed))
                .map_err(|e| invalid(&PathBuf::from(&name), &format!("galaxy.{key}"), "", e))?;
        }
        let cfg = builder
            .build()
            .map_err(|e| invalid(&file_label, "", &text, e))?;
        let mut settings: Settings = cfg
            .try_deserialize()
            .map_err(|e| invalid(&file_label, "", &text, e))?;
        match super::extra_args::apply(&mut settings.gravity.gunicorn) {
            Ok(extra) => warnings.extend(extra.ignored.iter().map(|o| {
                format!("gravity.gunicorn.extra_args: `{o}` has no meaning here; ignored")
            })),
            Err(message) => {
                return Err(ConfigError::Invalid {
                    line: find_key_line(&text, "gravity.gunicorn.extra_args"),
                    file: file_label,
                    key: "gravity.gunicorn.extra_args".into(),
                    message,
                });
            }
        }
        for group in settings.gravity.handlers.values_mut() {
            group.pools = group
                .pools
                .iter()
                .map(|p| super::gravity::normalize_pool(p))
                .collect();
        }
        for w in &warnings {
            log::warn!("{}: {w}", file_label.display());
        }
        settings.warnings = warnings;
        settings.source = path;
        settings.validate(&file_label, &text)?;
        Ok(settings)
    }
}

impl GalaxySettings {
    /// The job configuration to read: `job_config_file`, else `config/job_conf.yml` or
    /// `config/job_conf.xml` when present, else `None` (the built-in default).
    pub fn job_config_path(&self) -> Option<PathBuf> {
        if let Some(p) = &self.job_config_file {
            return Some(p.clone());
        }
        ["config/job_conf.yml", "config/job_conf.xml"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    }

    pub fn database_is_sqlite(&self) -> bool {
        self.database_connection.starts_with("sqlite:")
    }

    /// `sqlite:///rel/path` → `rel/path`; `sqlite:////abs/path` → `/abs/path`.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.database_connection
            .strip_prefix("sqlite:///")
            .map(PathBuf::from)
    }
}

/// Keys of `doc` that `known` (the serialized defaults) does not have, as dotted paths.
/// Maps under `gravity.handlers`, `galaxy.celery_conf.beat_schedule` and `…environment` are
/// free-form.
fn unknown_keys(known: &serde_yaml::Value, doc: &serde_yaml::Value, prefix: &str) -> Vec<String> {
    let (Some(known), Some(doc)) = (known.as_mapping(), doc.as_mapping()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in doc {
        let name = k.as_str().map_or_else(|| format!("{k:?}"), String::from);
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match known.get(k) {
            None => out.push(format!("unknown key `{path}`")),
            Some(kv)
                if path != "gravity.handlers"
                    && path != "galaxy.celery_conf.beat_schedule"
                    && !path.ends_with(".environment") =>
            {
                out.extend(unknown_keys(kv, v, &path))
            }
            Some(_) => {}
        }
    }
    out
}

fn invalid(file: &Path, key: &str, text: &str, e: config::ConfigError) -> ConfigError {
    let (key, message) = match &e {
        config::ConfigError::Type {
            key: Some(k),
            unexpected,
            expected,
            ..
        } => (
            k.clone(),
            format!("expected {expected}, found {unexpected}"),
        ),
        other => {
            let m = other.to_string();
            (key_from_message(&m).unwrap_or_else(|| key.to_string()), m)
        }
    };
    ConfigError::Invalid {
        file: file.to_path_buf(),
        line: find_key_line(text, &key),
        key,
        message,
    }
}

/// serde messages such as "unknown variant `x`… for key `galaxy.cleanup_job`" name the key.
fn key_from_message(m: &str) -> Option<String> {
    let start = m.rfind("for key `")? + "for key `".len();
    let end = m[start..].find('`')? + start;
    Some(m[start..end].to_string())
}
