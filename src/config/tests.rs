use std::path::{Path, PathBuf};

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/job_conf")
        .join(name)
}

#[test]
fn defaults_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = Settings::load(Some(&write(dir.path(), "g.yml", ""))).unwrap();
    assert_eq!(s.gravity.gunicorn.bind, vec!["127.0.0.1:8080".to_string()]);
    assert_eq!(s.gravity.gunicorn.workers, 2);
    assert_eq!(
        s.galaxy.database_connection,
        "sqlite:///database/universe.sqlite"
    );
    assert_eq!(s.galaxy.cleanup_job, CleanupJob::Always);
    assert_eq!(s.galaxy.heartbeat_interval, 10.0);
}

#[test]
fn file_values_override_defaults_and_bind_takes_a_string_or_a_list() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "g.yml",
        "gravity:\n  gunicorn:\n    bind: unix:/tmp/g.sock\n    workers: 7\ngalaxy:\n  cleanup_job: never\n  admin_users: [a@b.org]\n",
    );
    let s = Settings::load(Some(&p)).unwrap();
    assert_eq!(
        s.gravity.gunicorn.bind,
        vec!["unix:/tmp/g.sock".to_string()]
    );
    assert_eq!(s.gravity.gunicorn.workers, 7);
    assert_eq!(s.galaxy.cleanup_job, CleanupJob::Never);
    assert_eq!(s.galaxy.admin_users, vec!["a@b.org".to_string()]);
    let p = write(
        dir.path(),
        "g2.yml",
        "gravity:\n  gunicorn:\n    bind: [\"127.0.0.1:1\", \"unix:/tmp/x.sock\"]\n",
    );
    assert_eq!(
        Settings::load(Some(&p))
            .unwrap()
            .gravity
            .gunicorn
            .bind
            .len(),
        2
    );
}

#[test]
fn errors_name_file_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "g.yml",
        "gravity:\n  gunicorn:\n    workers: lots\n",
    );
    let e = Settings::load(Some(&p)).unwrap_err().to_string();
    assert!(
        e.contains("g.yml:3") && e.contains("gravity.gunicorn.workers"),
        "{e}"
    );

    let p = write(dir.path(), "g.yml", "galaxy:\n  cleanup_job: sometimes\n");
    let e = Settings::load(Some(&p)).unwrap_err().to_string();
    assert!(e.contains("cleanup_job") && e.contains("g.yml:2"), "{e}");

    let p = write(dir.path(), "g.yml", "galaxy:\n  heartbeat_interval: -1\n");
    let e = Settings::load(Some(&p)).unwrap_err().to_string();
    assert!(
        e.contains("galaxy.heartbeat_interval") && e.contains("g.yml:2"),
        "{e}"
    );

    let p = write(
        dir.path(),
        "g.yml",
        "galaxy:\n  database_connection: mysql://x\n",
    );
    let e = Settings::load(Some(&p)).unwrap_err().to_string();
    assert!(e.contains("database_connection"), "{e}");

    let p = write(dir.path(), "g.yml", "galaxy:\n  file_path: [unclosed\n");
    let e = Settings::load(Some(&p)).unwrap_err().to_string();
    assert!(e.contains("g.yml:"), "{e}");
}

#[test]
fn unknown_keys_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "g.yml",
        "galaxy:\n  no_such_option: 1\nextra_section: {}\n",
    );
    let s = Settings::load(Some(&p)).unwrap();
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("galaxy.no_such_option")),
        "{:?}",
        s.warnings
    );
    assert!(
        s.warnings.iter().any(|w| w.contains("extra_section")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn environment_overrides_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "g.yml", "galaxy:\n  heartbeat_interval: 5\n");
    let env = [
        ("GALAXY_CONFIG_HEARTBEAT_INTERVAL", "2.5"),
        ("GALAXY_CONFIG_ALLOW_USER_CREATION", "false"),
        ("GALAXY_CONFIG_ADMIN_USERS", "a@b.org,c@d.org"),
        ("GALAXY_CONFIG_NOT_A_KEY", "1"),
        ("UNRELATED", "x"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let s = Settings::load_with_env(Some(&p), env);
    let s = s.unwrap();
    assert_eq!(s.galaxy.heartbeat_interval, 2.5);
    assert!(!s.galaxy.allow_user_creation);
    assert_eq!(
        s.galaxy.admin_users,
        vec!["a@b.org".to_string(), "c@d.org".to_string()]
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("GALAXY_CONFIG_NOT_A_KEY")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn galaxy_style_job_confs_load() {
    // advanced.xml's PBS and DRMAA destinations are refused (tests_execution.rs); its variant
    // with Slurm destinations loads.
    let xml = JobConf::load(Some(&fixture("advanced_cluster.xml"))).unwrap();
    assert_eq!(xml.handling.assign, vec![AssignMethod::DbSkipLocked]);
    assert_eq!(xml.handling.max_grab, Some(8));
    assert_eq!(xml.handling.handlers.len(), 4);
    assert_eq!(xml.runners["slurm"].workers, 2);
    assert_eq!(xml.runners["local"].workers, 4);
    assert_eq!(
        xml.environments["multicore_local"].params["local_slots"],
        "4"
    );
    assert_eq!(
        xml.tools["foo"].handler.as_deref(),
        Some("trackster_handler")
    );
    assert!(xml.limits.contains(&Limit::Walltime(86400)));
    assert!(xml.limits.contains(&Limit::DestinationUserConcurrentJobs(
        Some("mycluster".into()),
        2
    )));

    let yml = JobConf::load(Some(&fixture("scaling.yml"))).unwrap();
    assert_eq!(
        yml.handling
            .handlers
            .iter()
            .map(|h| h.id.as_str())
            .collect::<Vec<_>>(),
        ["handler0", "handler1", "special0"]
    );
    assert_eq!(yml.handling.handlers[2].tags, vec!["special".to_string()]);
    assert_eq!(yml.tools["sort1"].handler.as_deref(), Some("special"));
    assert_eq!(
        yml.environments["slurm"].params["native_specification"],
        "--time=24:00:00"
    );

    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let a = JobConf::load(Some(&shipped.join("job_conf.yml.sample"))).unwrap();
    let b = JobConf::load(Some(&shipped.join("job_conf.xml.sample"))).unwrap();
    assert_eq!(
        a, b,
        "the YAML and XML samples describe the same configuration"
    );
    assert_eq!(a, JobConf::default());
}

#[test]
fn job_conf_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "j.xml",
        "<job_conf>\n<handlers assign_with=\"db-magic\"/>\n</job_conf>\n",
    );
    let e = JobConf::load(Some(&p)).unwrap_err().to_string();
    assert!(e.contains("j.xml:2") && e.contains("db-magic"), "{e}");
    let p = write(dir.path(), "j.yml", "handling:\n  assign: [db-magic]\n");
    let e = JobConf::load(Some(&p)).unwrap_err().to_string();
    assert!(e.contains("j.yml:2") && e.contains("db-magic"), "{e}");
    let p = write(
        dir.path(),
        "j.yml",
        "execution:\n  default: x\n  environments:\n    x: {runner: nope}\n",
    );
    let e = JobConf::load(Some(&p)).unwrap_err().to_string();
    assert!(e.contains("nope"), "{e}");
    let p = write(
        dir.path(),
        "j.xml",
        "<job_conf><plugins>\n<plugin id=\"local\"/></plugins></job_conf>",
    );
    let e = JobConf::load(Some(&p)).unwrap_err().to_string();
    assert!(e.contains("j.xml:2") && e.contains("load"), "{e}");
    let p = write(dir.path(), "j.xml", "<job_conf><plugins>\n</job_conf>");
    assert!(
        JobConf::load(Some(&p))
            .unwrap_err()
            .to_string()
            .contains("j.xml")
    );
}

#[test]
fn body_limits_take_sizes_and_reject_bad_values_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = Settings::load(Some(&write(dir.path(), "d.yml", ""))).unwrap();
    assert_eq!(defaults.galaxy.api_body_limit, ByteSize(16 << 20));
    assert_eq!(defaults.galaxy.upload_body_limit, ByteSize(1 << 30));
    let p = write(
        dir.path(),
        "g.yml",
        "galaxy:\n  api_body_limit: 2M\n  upload_body_limit: 300000\n",
    );
    let s = Settings::load_with_env(Some(&p), Vec::new()).unwrap();
    assert_eq!(s.galaxy.api_body_limit, ByteSize(2 << 20));
    assert_eq!(s.galaxy.upload_body_limit, ByteSize(300_000));
    let env = vec![(
        "GALAXY_CONFIG_UPLOAD_BODY_LIMIT".to_string(),
        "2 GB".to_string(),
    )];
    let s = Settings::load_with_env(Some(&p), env).unwrap();
    assert_eq!(s.galaxy.upload_body_limit, ByteSize(2 << 30));
    for (value, line) in [("lots", 3), ("0", 3), ("-1", 3), ("5 parsecs", 3)] {
        let p = write(
            dir.path(),
            "bad.yml",
            &format!("galaxy:\n  api_body_limit: 1M\n  upload_body_limit: {value}\n"),
        );
        let err = Settings::load_with_env(Some(&p), Vec::new()).unwrap_err();
        let ConfigError::Invalid { key, line: at, .. } = &err else {
            panic!("{value}: not an Invalid error: {err}");
        };
        assert_eq!(key, "galaxy.upload_body_limit", "{value}: {err}");
        assert_eq!(*at, Some(line), "{value}: {err}");
    }
}

#[test]
fn fetch_url_allowlist_takes_addresses_and_networks() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "g.yml",
        "galaxy:\n  fetch_url_allowlist: 10.0.0.5,192.168.0.0/16\n",
    );
    let s = Settings::load_with_env(Some(&p), Vec::new()).unwrap();
    assert_eq!(
        s.galaxy.fetch_url_allowlist,
        vec!["10.0.0.5".to_string(), "192.168.0.0/16".to_string()]
    );
    let p = write(
        dir.path(),
        "bad.yml",
        "galaxy:\n  fetch_url_allowlist: [127.0.0.1, intranet]\n",
    );
    let err = Settings::load_with_env(Some(&p), Vec::new()).unwrap_err();
    let ConfigError::Invalid { key, line, .. } = &err else {
        panic!("not an Invalid error: {err}");
    };
    assert_eq!(key, "galaxy.fetch_url_allowlist", "{err}");
    assert_eq!(*line, Some(2), "{err}");
    assert!(err.to_string().contains("intranet"), "{err}");
}
