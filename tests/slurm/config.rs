//! A job configuration whose environment names a runner that is not defined, or defined with
//! a `load` galaxy-server does not support, stops the server (exit 2) naming the file, the
//! environment and the runner; a configuration with the Slurm runners is accepted.

use std::process::Output;

use crate::helpers::{Backend, ConfigDir, Opts};
use crate::support::job_conf;

fn text(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `check-config` and a start on a job conf file `file` with `content` both exit 2 and name
/// every one of `needles`.
fn assert_refused(file: &str, content: &str, needles: &[&str]) {
    let dir = ConfigDir::new(
        Backend::Sqlite,
        &Opts::default().file(file, content).job_config_file(file),
    );
    let config = dir.config.display().to_string();
    for args in [
        vec!["check-config", "-c", &config],
        vec!["-c", &config, "--mode", "all-in-one"],
    ] {
        let out = dir.run_cli(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: exit 2\n{}",
            text(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{args:?}: stderr does not name `{needle}`\n{}",
                text(&out)
            );
        }
    }
}

#[test]
fn an_environment_naming_an_undefined_runner_is_refused() {
    let conf = job_conf(&["tocluster: {runner: nosuchrunner}"], &[]);
    assert_refused(
        "job_conf.yml",
        &conf,
        &["job_conf.yml", "tocluster", "nosuchrunner"],
    );
}

#[test]
fn a_runner_whose_load_is_not_supported_is_refused() {
    let conf = job_conf(&[], &[]).replace(
        "runners:\n",
        "runners:\n  pbs: {load: \"galaxy.jobs.runners.pbs:PBSJobRunner\"}\n",
    );
    let conf = conf.replace(
        "  environments:\n",
        "  environments:\n    pbsenv: {runner: pbs}\n",
    );
    assert_refused("job_conf.yml", &conf, &["job_conf.yml", "pbsenv", "pbs"]);
}

#[test]
fn an_xml_destination_naming_an_undefined_runner_is_refused() {
    let conf = r#"<?xml version="1.0"?>
<job_conf>
    <plugins>
        <plugin id="local" type="runner" load="galaxy.jobs.runners.local:LocalJobRunner" workers="4"/>
    </plugins>
    <destinations default="local">
        <destination id="local" runner="local"/>
        <destination id="tocluster" runner="nosuchrunner"/>
    </destinations>
</job_conf>
"#;
    assert_refused(
        "job_conf.xml",
        conf,
        &["job_conf.xml", "tocluster", "nosuchrunner"],
    );
}

#[test]
fn the_slurm_and_cli_runners_are_accepted() {
    let conf = job_conf(
        &["cli: {runner: cli, job_plugin: Slurm, shell_plugin: LocalShell}"],
        &[("sort1", "local"), ("cat1", "slurm")],
    )
    .replace(
        "runners:\n",
        "runners:\n  cli: {load: galaxy.jobs.runners.cli:ShellJobRunner}\n",
    );
    let dir = ConfigDir::new(
        Backend::Sqlite,
        &Opts::default()
            .file("job_conf.yml", &conf)
            .job_config_file("job_conf.yml"),
    );
    let config = dir.config.display().to_string();
    let out = dir.run_cli(&["check-config", "-c", &config]);
    assert_eq!(out.status.code(), Some(0), "{conf}\n{}", text(&out));
}
