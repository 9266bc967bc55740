//! Runners, environments and their execution: runner kinds, `env`, `resubmit` and its
//! conditions, and the checks that refuse an environment this server cannot run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/job_conf")
        .join(name)
}

fn load(name: &str, text: &str) -> Result<JobConf, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    JobConf::load(Some(&p))
}

/// The key, line and message of a refused job conf.
fn refused(name: &str, text: &str) -> (String, Option<usize>, String) {
    match load(name, text) {
        Ok(conf) => panic!("accepted:\n{text}\n{conf:?}"),
        Err(ConfigError::Invalid {
            file,
            key,
            line,
            message,
        }) => {
            assert!(file.ends_with(name), "{file:?}");
            (key, line, message)
        }
        Err(other) => panic!("not an Invalid error: {other}"),
    }
}

const RUNNERS: &str = "runners:
  local:
    load: galaxy.jobs.runners.local:LocalJobRunner
  slurm:
    load: galaxy.jobs.runners.slurm:SlurmJobRunner
  cli:
    load: galaxy.jobs.runners.cli:ShellJobRunner
";

/// A YAML job conf with `RUNNERS` and one environment `x` whose body is `body` (indented by 6).
fn with_env(body: &str) -> String {
    let body: String = body.lines().map(|l| format!("      {l}\n")).collect();
    format!("{RUNNERS}execution:\n  default: x\n  environments:\n    x:\n{body}")
}

fn facts() -> FailureFacts {
    FailureFacts {
        attempt: 1,
        ..FailureFacts::default()
    }
}

#[test]
fn conditions_evaluate_as_galaxy_does() {
    let walltime = FailureFacts {
        walltime_reached: true,
        ..facts()
    };
    let oom_third = FailureFacts {
        memory_limit_reached: true,
        attempt: 3,
        seconds_running: 7200.5,
        seconds_since_queued: 8000.0,
        ..facts()
    };
    let unknown = FailureFacts {
        unknown_error: true,
        ..facts()
    };
    let cases: &[(&str, &FailureFacts, bool)] = &[
        ("walltime_reached", &walltime, true),
        ("walltime_reached", &oom_third, false),
        ("memory_limit_reached", &oom_third, true),
        ("unknown_error", &unknown, true),
        ("unknown_error", &walltime, false),
        ("any_failure", &unknown, true),
        ("any_failure", &oom_third, true),
        ("any_failure", &facts(), false),
        ("any_potential_job_failure", &walltime, true),
        ("walltime_reached and attempt < 3", &walltime, true),
        ("walltime_reached and attempt < 3", &oom_third, false),
        ("memory_limit_reached and attempt < 3", &oom_third, false),
        ("memory_limit_reached and attempt <= 3", &oom_third, true),
        ("walltime_reached or memory_limit_reached", &oom_third, true),
        ("not walltime_reached", &oom_third, true),
        ("not walltime_reached and attempt == 1", &walltime, false),
        ("not (walltime_reached and attempt == 1)", &walltime, false),
        ("not (walltime_reached and attempt == 2)", &walltime, true),
        (
            "(unknown_error or walltime_reached) and attempt != 2",
            &unknown,
            true,
        ),
        ("1 < attempt <= 3", &oom_third, true),
        ("1 < attempt <= 3", &walltime, false),
        ("seconds_running > 2 * 3600", &oom_third, true),
        ("seconds_running >= 7200.6", &oom_third, false),
        (
            "seconds_since_queued - seconds_running > 799",
            &oom_third,
            true,
        ),
        ("seconds_running < .5 + 7200", &oom_third, false),
        ("-attempt < -2", &oom_third, true),
        ("attempt", &walltime, true),
        ("attempt - 1", &walltime, false),
        ("True", &facts(), true),
        ("False or attempt > 0", &facts(), true),
        ("walltime_reached == True", &walltime, true),
        ("  walltime_reached  ", &walltime, true),
    ];
    for (text, f, want) in cases {
        let c = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(c.eval(f), *want, "{text} with {f:?}");
        assert_eq!(c.text(), text.trim());
    }
}

#[test]
fn condition_errors_name_the_token() {
    let cases: &[(&str, &str)] = &[
        (
            "walltime_reached and tool_detected_failure",
            "tool_detected_failure",
        ),
        ("walltime_reached && attempt < 3", "&&"),
        ("attempt = 3", "`=`"),
        ("attempt <", "end"),
        ("(attempt < 3", "`)`"),
        ("attempt < 3)", "`)`"),
        ("attempt < 3 walltime_reached", "walltime_reached"),
        ("attempt < 1.2.3", "1.2.3"),
        ("attempt < 3x", "3x"),
        ("attempt ** 2", "**"),
        ("attempt / 2", "`/`"),
        ("and attempt", "`and`"),
        ("'walltime'", "`'`"),
        ("", "empty"),
        ("   ", "empty"),
    ];
    for (text, needle) in cases {
        let e = Condition::parse(text).expect_err(text);
        assert!(e.contains(needle), "{text}: {e}");
    }
    let e = Condition::parse("walltime").unwrap_err();
    assert!(e.contains("walltime_reached"), "lists the known names: {e}");
}

#[test]
fn runner_kinds_follow_load() {
    for (load, kind) in [
        (
            "galaxy.jobs.runners.local:LocalJobRunner",
            RunnerKind::Local,
        ),
        ("local", RunnerKind::Local),
        ("galaxy.jobs.runners.local", RunnerKind::Local),
        (
            "galaxy.jobs.runners.slurm:SlurmJobRunner",
            RunnerKind::Slurm,
        ),
        ("slurm", RunnerKind::Slurm),
        ("galaxy.jobs.runners.cli:ShellJobRunner", RunnerKind::Cli),
        ("cli", RunnerKind::Cli),
        ("galaxy_server.bench:NoopRunner", RunnerKind::Noop),
        (
            "galaxy.jobs.runners.drmaa:DRMAAJobRunner",
            RunnerKind::Unsupported,
        ),
        (
            "galaxy.jobs.runners.pbs:PBSJobRunner",
            RunnerKind::Unsupported,
        ),
        (
            "galaxy.jobs.runners.slurm:SomethingElse",
            RunnerKind::Unsupported,
        ),
    ] {
        assert_eq!(RunnerKind::from_load(load), kind, "{load}");
    }
}

#[test]
fn the_default_conf_runs_locally() {
    let conf = JobConf::default();
    let ex = conf.execution("local").unwrap();
    assert_eq!(ex.kind, RunnerKind::Local);
    assert_eq!(ex.runner, "local");
    assert_eq!(ex.shell, Shell::Local);
    assert_eq!(ex.native_specification, None);
    assert_eq!(ex.walltime, None);
    assert!(ex.env.is_empty() && ex.resubmit.is_empty());
    assert_eq!(conf.execution("nope"), None);
    assert_eq!(
        conf.runners["local"].poll_interval(),
        Duration::from_secs(1)
    );
}

#[test]
fn advanced_xml_is_refused_naming_the_unsupported_runner() {
    let err = JobConf::load(Some(&fixture("advanced.xml"))).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("advanced.xml:28")
            && text.contains("<destination id=\"pbs_longjobs\" runner>")
            && text.contains("`pbs`")
            && text.contains("galaxy.jobs.runners.pbs:PBSJobRunner")
            && text.contains(
                "not supported by this server; supported: local, slurm, cli with job_plugin Slurm"
            ),
        "{text}"
    );
}

#[test]
fn cluster_environments_resolve() {
    let xml = JobConf::load(Some(&fixture("advanced_cluster.xml"))).unwrap();
    assert_eq!(xml.runners["slurm"].kind, RunnerKind::Slurm);
    assert_eq!(xml.runners["cli"].kind, RunnerKind::Cli);
    assert_eq!(xml.runners["pulsar_rest"].kind, RunnerKind::Unsupported);
    assert_eq!(
        xml.runners["slurm"].poll_interval(),
        Duration::from_millis(2500)
    );

    let local = xml.execution("multicore_local").unwrap();
    assert_eq!(local.kind, RunnerKind::Local);
    assert_eq!(local.galaxy_slots, Some(4));
    // The job conf's walltime limit applies to every environment.
    assert_eq!(local.walltime, Some(Duration::from_secs(24 * 3600)));
    assert_eq!(
        local.env,
        vec![
            EnvEntry::Source("/mnt/galaxy/tools/setup.sh".into()),
            EnvEntry::Set {
                name: "_JAVA_OPTIONS".into(),
                value: "-Xmx6G".into(),
                raw: false
            },
            EnvEntry::Set {
                name: "SCRATCH".into(),
                value: "$(mktemp -d)".into(),
                raw: true
            },
            EnvEntry::Execute("module load java/17".into()),
        ]
    );

    let short = xml.execution("slurm_short").unwrap();
    assert_eq!(short.kind, RunnerKind::Slurm);
    assert_eq!(short.runner, "slurm");
    assert_eq!(short.shell, Shell::Local);
    assert_eq!(
        short.native_specification.as_deref(),
        Some("--partition=short --mem=2G")
    );
    assert_eq!(short.walltime, Some(Duration::from_secs(1800)));
    assert_eq!(short.galaxy_slots, Some(2));
    assert_eq!(short.resubmit.len(), 2);
    let first = &short.resubmit[0];
    assert_eq!(
        first.condition.as_ref().map(Condition::text),
        Some("walltime_reached and attempt < 3")
    );
    assert_eq!(first.environment.as_deref(), Some("slurm_long"));
    assert_eq!(first.delay, Some(Duration::from_secs(5)));
    let timed_out = FailureFacts {
        walltime_reached: true,
        attempt: 1,
        ..FailureFacts::default()
    };
    assert!(first.condition.as_ref().unwrap().eval(&timed_out));
    assert_eq!(short.resubmit[1].environment.as_deref(), Some("longjobs"));
    assert_eq!(short.resubmit[1].delay, None);

    let long = xml.execution("slurm_long").unwrap();
    assert_eq!(
        long.native_specification.as_deref(),
        Some("--partition=long")
    );
    // 72 h asked, capped by the 24 h limit.
    assert_eq!(long.walltime, Some(Duration::from_secs(24 * 3600)));

    let ssh = xml.execution("ssh_slurm").unwrap();
    assert_eq!(
        ssh.kind,
        RunnerKind::Slurm,
        "cli + job_plugin Slurm is Slurm"
    );
    assert_eq!(ssh.runner, "cli");
    assert_eq!(
        ssh.shell,
        Shell::Secure {
            hostname: "submit.example.org".into(),
            username: Some("galaxy".into())
        }
    );
    assert_eq!(
        ssh.native_specification.as_deref(),
        Some("--exclusive --cpus-per-task=4 --partition=my_partition --time=2:00:00")
    );

    // What the XML test of the Galaxy-style conf looked at still loads the same.
    assert_eq!(xml.handling.assign, vec![AssignMethod::DbSkipLocked]);
    assert_eq!(xml.handling.handlers.len(), 4);
    assert_eq!(xml.runners["slurm"].workers, 2);
    assert_eq!(xml.runners["local"].workers, 4);
    assert_eq!(
        xml.environments["multicore_local"].params["local_slots"],
        "4"
    );
    assert_eq!(xml.tools["bar"].environment.as_deref(), Some("slurm_long"));
    assert!(xml.limits.contains(&Limit::DestinationUserConcurrentJobs(
        Some("mycluster".into()),
        2
    )));

    let yml = JobConf::load(Some(&fixture("cluster.yml"))).unwrap();
    for id in xml.environments.keys() {
        assert_eq!(yml.execution(id), xml.execution(id), "environment {id}");
    }
    assert_eq!(yml.environments.len(), xml.environments.len());
    assert_eq!(
        yml.runners["slurm"].poll_interval(),
        Duration::from_millis(2500)
    );

    let scaling = JobConf::load(Some(&fixture("scaling.yml"))).unwrap();
    let slurm = scaling.execution("slurm").unwrap();
    assert_eq!(slurm.kind, RunnerKind::Slurm);
    assert_eq!(
        slurm.native_specification.as_deref(),
        Some("--time=24:00:00")
    );
}

/// Every commented setting of a YAML sample enabled: `# key:` and `#   nested` lines lose their
/// `# `, prose stays a comment.
fn uncomment_yaml(text: &str) -> String {
    text.lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let Some(rest) = line.trim_start().strip_prefix("# ") else {
                return line.to_string();
            };
            let key = rest.split_once(':').is_some_and(|(k, _)| {
                !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            });
            if key || rest.starts_with(' ') || rest.starts_with("- ") {
                format!("{}{rest}", " ".repeat(indent))
            } else {
                line.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

/// Every comment of an XML sample that holds elements, unwrapped.
fn uncomment_xml(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("-->") else {
            break;
        };
        let inner = &rest[start + 4..start + end];
        if inner.contains("</") || inner.contains("/>") {
            out.push_str(inner);
        } else {
            out.push_str(&rest[start..start + end + 3]);
        }
        rest = &rest[start + end + 3..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_samples_commented_slurm_settings_load_and_agree() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let yml = std::fs::read_to_string(shipped.join("job_conf.yml.sample")).unwrap();
    let xml = std::fs::read_to_string(shipped.join("job_conf.xml.sample")).unwrap();
    let yml = load("job_conf.yml", &uncomment_yaml(&yml)).unwrap();
    let xml = load("job_conf.xml", &uncomment_xml(&xml)).unwrap();
    for conf in [&yml, &xml] {
        assert_eq!(conf.environments.len(), 4, "{:?}", conf.environments.keys());
        let short = conf.execution("slurm_short").unwrap();
        assert_eq!(short.kind, RunnerKind::Slurm);
        assert_eq!(short.walltime, Some(Duration::from_secs(3600)));
        assert_eq!(short.env.len(), 3);
        assert_eq!(short.resubmit[0].environment.as_deref(), Some("slurm_long"));
        let ssh = conf.execution("slurm_submit_host").unwrap();
        assert_eq!(ssh.kind, RunnerKind::Slurm);
        assert!(matches!(ssh.shell, Shell::Secure { .. }));
        assert_eq!(
            conf.tools["cat1"].environment.as_deref(),
            Some("slurm_short")
        );
        assert_eq!(
            conf.runners["slurm"].poll_interval(),
            Duration::from_secs(2)
        );
    }
    for id in yml.environments.keys() {
        assert_eq!(yml.execution(id), xml.execution(id), "environment {id}");
    }
}

#[test]
fn an_unknown_runner_names_the_key_line_and_runner() {
    let (key, line, msg) = refused("j.yml", &with_env("runner: nope"));
    assert_eq!(key, "execution.environments.x.runner");
    assert_eq!(line, Some(12));
    assert!(
        msg.contains("`nope` is not defined") && msg.contains("local, slurm"),
        "{msg}"
    );

    let (_, _, msg) = refused("j.yml", &with_env("runner: dynamic\nfunction: foo"));
    assert!(
        msg.contains("dynamic destinations are not supported"),
        "{msg}"
    );

    let (key, line, msg) = refused(
        "j.xml",
        "<job_conf>\n<plugins><plugin id=\"local\" type=\"runner\" load=\"local\"/></plugins>\n<destinations>\n<destination id=\"x\" runner=\"nope\"/>\n</destinations>\n</job_conf>\n",
    );
    assert_eq!(key, "<destination id=\"x\" runner>");
    assert_eq!(line, Some(4));
    assert!(msg.contains("`nope`"), "{msg}");
}

#[test]
fn an_unsupported_runner_is_refused_when_used_and_warned_about_when_not() {
    let text = "runners:\n  local:\n    load: local\n  pbs:\n    load: galaxy.jobs.runners.pbs:PBSJobRunner\nexecution:\n  default: local\n  environments:\n    local:\n      runner: local\n";
    let conf = load("j.yml", text).unwrap();
    assert_eq!(conf.runners["pbs"].kind, RunnerKind::Unsupported);
    let used = format!("{text}    cluster:\n      runner: pbs\n");
    let (key, line, msg) = refused("j.yml", &used);
    assert_eq!(key, "execution.environments.cluster.runner");
    assert_eq!(line, Some(12));
    assert!(
        msg.contains("`pbs`")
            && msg.contains("galaxy.jobs.runners.pbs:PBSJobRunner")
            && msg.contains("supported: local, slurm, cli with job_plugin Slurm"),
        "{msg}"
    );
}

#[test]
fn a_cli_environment_needs_the_slurm_job_plugin() {
    let (key, _, msg) = refused("j.yml", &with_env("runner: cli"));
    assert_eq!(key, "execution.environments.x.runner");
    assert!(msg.contains("job_plugin: Slurm"), "{msg}");

    let (key, line, msg) = refused("j.yml", &with_env("runner: cli\njob_plugin: Torque"));
    assert_eq!(key, "execution.environments.x.job_plugin");
    assert_eq!(line, Some(13));
    assert!(
        msg.contains("`Torque`") && msg.contains("supported: Slurm"),
        "{msg}"
    );

    let (key, _, msg) = refused(
        "j.yml",
        &with_env("runner: cli\njob_plugin: Slurm\njob_Resource_List: walltime=1:00:00"),
    );
    assert_eq!(key, "execution.environments.x.job_Resource_List");
    assert!(msg.contains("job_time"), "{msg}");

    // The runner's parameters are the environment's defaults.
    let text = "runners:\n  cli:\n    load: cli\n    job_plugin: Slurm\n    shell_plugin: SecureShell\n    shell_hostname: login\n    job_-A: proj\nexecution:\n  default: x\n  environments:\n    x:\n      runner: cli\n      shell_username: me\n      native_specification: --mem=1G\n";
    let ex = load("j.yml", text).unwrap().execution("x").unwrap();
    assert_eq!(ex.kind, RunnerKind::Slurm);
    assert_eq!(
        ex.shell,
        Shell::Secure {
            hostname: "login".into(),
            username: Some("me".into())
        }
    );
    assert_eq!(ex.native_specification.as_deref(), Some("-A proj --mem=1G"));
}

#[test]
fn shells_are_local_or_secure_with_a_host() {
    let (key, _, msg) = refused(
        "j.yml",
        &with_env("runner: slurm\nshell_plugin: ParamikoShell"),
    );
    assert_eq!(key, "execution.environments.x.shell_plugin");
    assert!(msg.contains("LocalShell, SecureShell"), "{msg}");

    let (key, _, msg) = refused(
        "j.yml",
        &with_env("runner: slurm\nshell_plugin: SecureShell"),
    );
    assert_eq!(key, "execution.environments.x.shell_plugin");
    assert!(msg.contains("shell_hostname"), "{msg}");

    let (key, _, msg) = refused(
        "j.yml",
        &with_env("runner: local\nshell_plugin: SecureShell\nshell_hostname: h"),
    );
    assert_eq!(key, "execution.environments.x.shell_plugin");
    assert!(msg.contains("this host"), "{msg}");

    let (key, _, msg) = refused(
        "j.yml",
        &with_env("runner: slurm\nshell_plugin: SecureShell\nshell_hostname: h\nshell_port: 2222"),
    );
    assert_eq!(key, "execution.environments.x.shell_port");
    assert!(msg.contains("not supported"), "{msg}");

    let ex = load(
        "j.yml",
        &with_env("runner: slurm\nshell_plugin: LocalShell"),
    )
    .unwrap()
    .execution("x")
    .unwrap();
    assert_eq!(ex.shell, Shell::Local);
    let ex = load(
        "j.yml",
        &with_env("runner: slurm\nshell_plugin: SecureShell\nshell_hostname: h"),
    )
    .unwrap()
    .execution("x")
    .unwrap();
    assert_eq!(
        ex.shell,
        Shell::Secure {
            hostname: "h".into(),
            username: None
        }
    );
}

#[test]
fn walltime_slots_and_poll_interval_are_checked() {
    for (body, bad_key) in [
        ("runner: slurm\nwalltime: soon", "walltime"),
        ("runner: slurm\nwalltime: \"00:00:00\"", "walltime"),
        ("runner: slurm\nwalltime: 1:2:3:4", "walltime"),
        ("runner: local\ngalaxy_slots: 0", "galaxy_slots"),
        ("runner: local\ngalaxy_slots: two", "galaxy_slots"),
        ("runner: local\nlocal_slots: -1", "local_slots"),
    ] {
        let (key, line, msg) = refused("j.yml", &with_env(body));
        assert_eq!(key, format!("execution.environments.x.{bad_key}"), "{body}");
        assert_eq!(line, Some(13), "{body}");
        assert!(msg.contains("expected"), "{body}: {msg}");
    }
    let ex = load(
        "j.yml",
        &with_env("runner: slurm\nwalltime: 90\nlocal_slots: 3"),
    )
    .unwrap()
    .execution("x")
    .unwrap();
    assert_eq!(ex.walltime, Some(Duration::from_secs(90)));
    assert_eq!(ex.galaxy_slots, Some(3));
    let ex = load(
        "j.yml",
        &with_env("runner: slurm\ngalaxy_slots: 2\nlocal_slots: 3"),
    )
    .unwrap()
    .execution("x")
    .unwrap();
    assert_eq!(
        ex.galaxy_slots,
        Some(2),
        "galaxy_slots wins over local_slots"
    );

    // A runner-wide default is named where it is written.
    let text = "runners:\n  slurm:\n    load: slurm\n    walltime: later\nexecution:\n  default: x\n  environments:\n    x:\n      runner: slurm\n";
    let (key, line, _) = refused("j.yml", text);
    assert_eq!(key, "runners.slurm.walltime");
    assert_eq!(line, Some(4));

    for v in ["0", "-1", "often", "inf"] {
        let text = format!(
            "runners:\n  slurm:\n    load: slurm\n    poll_interval: {v}\nexecution:\n  default: x\n  environments:\n    x:\n      runner: slurm\n"
        );
        let (key, line, msg) = refused("j.yml", &text);
        assert_eq!(key, "runners.slurm.poll_interval", "{v}");
        assert_eq!(line, Some(4), "{v}");
        assert!(msg.contains("greater than 0"), "{msg}");
    }
    let (key, line, _) = refused(
        "j.xml",
        "<job_conf>\n<plugins>\n<plugin id=\"s\" type=\"runner\" load=\"slurm\">\n<param id=\"poll_interval\">0</param>\n</plugin>\n</plugins>\n<destinations><destination id=\"x\" runner=\"s\"/></destinations>\n</job_conf>",
    );
    assert_eq!(key, "<plugin id=\"s\"> <param id=\"poll_interval\">");
    assert_eq!(line, Some(4));

    let (key, line, _) = refused(
        "j.xml",
        "<job_conf>\n<plugins><plugin id=\"s\" type=\"runner\" load=\"slurm\"/></plugins>\n<destinations>\n<destination id=\"x\" runner=\"s\">\n<param id=\"native_specification\">-p a</param>\n<param id=\"walltime\">a while</param>\n</destination>\n</destinations>\n</job_conf>",
    );
    assert_eq!(key, "<destination id=\"x\"> <param id=\"walltime\">");
    assert_eq!(line, Some(6));
}

#[test]
fn env_entries_are_checked() {
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "env:\n  - name: A\n    file: /f",
            "execution.environments.x.env[0]",
            14,
            "one of",
        ),
        (
            "env:\n  - name: 1A\n    value: x",
            "execution.environments.x.env[0]",
            14,
            "`1A`",
        ),
        (
            "env:\n  - name: A",
            "execution.environments.x.env[0]",
            14,
            "needs a value",
        ),
        (
            "env:\n  - execute: ''",
            "execution.environments.x.env[0]",
            14,
            "empty",
        ),
        (
            "env:\n  - file: /a\n  - nam: A",
            "execution.environments.x.env[1].nam",
            15,
            "unknown key",
        ),
        (
            "env:\n  - name: A\n    value: b\n    raw: maybe",
            "execution.environments.x.env[0].raw",
            16,
            "true or false",
        ),
        (
            "env: A=b",
            "execution.environments.x.env",
            13,
            "expected a list",
        ),
    ];
    for (body, want_key, want_line, needle) in cases {
        let (key, line, msg) = refused("j.yml", &with_env(&format!("runner: local\n{body}")));
        assert_eq!(key, *want_key, "{body}");
        assert_eq!(line, Some(*want_line), "{body}");
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    let ex = load(
        "j.yml",
        &with_env("runner: local\nenv:\n  - name: N\n    value: 5\n    raw: \"yes\"\n  - name: E\n    value:\n"),
    )
    .unwrap()
    .execution("x")
    .unwrap();
    assert_eq!(
        ex.env,
        vec![
            EnvEntry::Set {
                name: "N".into(),
                value: "5".into(),
                raw: true
            },
            EnvEntry::Set {
                name: "E".into(),
                value: String::new(),
                raw: false
            },
        ]
    );
    assert!(
        !load("j.yml", &with_env("runner: local\nenv: []"))
            .unwrap()
            .environments["x"]
            .params
            .contains_key("env"),
        "env is not a parameter"
    );

    let (key, line, msg) = refused(
        "j.xml",
        "<job_conf>\n<plugins><plugin id=\"l\" type=\"runner\" load=\"local\"/></plugins>\n<destinations>\n<destination id=\"x\" runner=\"l\">\n<env id=\"A\">1</env>\n<env id=\"B\" exec=\"true\"/>\n</destination>\n</destinations>\n</job_conf>",
    );
    assert_eq!(key, "<destination id=\"x\"> <env>");
    assert_eq!(line, Some(6));
    assert!(msg.contains("one of"), "{msg}");
    let (key, line, _) = refused(
        "j.xml",
        "<job_conf>\n<plugins><plugin id=\"l\" type=\"runner\" load=\"local\"/></plugins>\n<destinations>\n<destination id=\"x\" runner=\"l\">\n<env id=\"A\" raw=\"perhaps\">1</env>\n</destination>\n</destinations>\n</job_conf>",
    );
    assert_eq!(key, "<destination id=\"x\"> <env raw>");
    assert_eq!(line, Some(5));
}

#[test]
fn resubmit_rules_are_checked() {
    let env_y = "    y:\n      runner: slurm\n      tags: [big]\n";
    let conf = |body: &str| format!("{}{env_y}", with_env(body));
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "runner: slurm\nresubmit:\n  - condition: walltime_reached\n    environment: y\n  - condition: walltime_reached and attempt < 3\n    environment: nowhere",
            "execution.environments.x.resubmit[1].environment",
            17,
            "`nowhere`",
        ),
        (
            "runner: slurm\nresubmit:\n- condition: walltime_reached and attempt < 3\n  environment: y\n- condition: walltime_reached or tool_detected_failure\n  environment: y",
            "execution.environments.x.resubmit[1].condition",
            16,
            "tool_detected_failure",
        ),
        (
            "runner: slurm\nresubmit:\n  - environment: y\n    delay: -5",
            "execution.environments.x.resubmit[0].delay",
            15,
            "`-5`",
        ),
        (
            "runner: slurm\nresubmit:\n  - environment: y\n    delay: attempt * 30",
            "execution.environments.x.resubmit[0].delay",
            15,
            "expressions are not supported",
        ),
        (
            "runner: slurm\nresubmit:\n  - environment: y\n    destination: x",
            "execution.environments.x.resubmit[0].destination",
            15,
            "give one",
        ),
        (
            "runner: slurm\nresubmit:\n  - environment: y\n    when: later",
            "execution.environments.x.resubmit[0].when",
            15,
            "unknown key",
        ),
        (
            "runner: slurm\nresubmit:\n  condition: \"attempt <\"\n  environment: y",
            "execution.environments.x.resubmit.condition",
            14,
            "end",
        ),
    ];
    for (body, want_key, want_line, needle) in cases {
        let (key, line, msg) = refused("j.yml", &conf(body));
        assert_eq!(key, *want_key, "{body}");
        assert_eq!(line, Some(*want_line), "{body}");
        assert!(msg.contains(needle), "{body}: {msg}");
    }

    // One mapping, Galaxy's `destination`, a tag as target, a fractional delay, no condition.
    let c = load(
        "j.yml",
        &conf("runner: slurm\nresubmit: {condition: memory_limit_reached, destination: big, delay: 0.5, handler: h}"),
    )
    .unwrap();
    let r = &c.execution("x").unwrap().resubmit;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].environment.as_deref(), Some("big"));
    assert_eq!(r[0].delay, Some(Duration::from_millis(500)));
    let c = load(
        "j.yml",
        &conf("runner: slurm\nresubmit:\n  - environment: y\n    condition: ''"),
    )
    .unwrap();
    let r = &c.execution("x").unwrap().resubmit[0];
    assert_eq!(r.condition, None, "a blank condition is none (always)");
    let c = load(
        "j.yml",
        &conf("runner: slurm\nresubmit:\n  - condition: true"),
    )
    .unwrap();
    let r = &c.execution("x").unwrap().resubmit[0];
    assert_eq!(r.environment, None, "no target: the same environment");
    assert_eq!(r.condition.as_ref().map(Condition::text), Some("True"));

    let xml = |resubmits: &str| {
        format!(
            "<job_conf>\n<plugins><plugin id=\"s\" type=\"runner\" load=\"slurm\"/></plugins>\n<destinations default=\"x\">\n<destination id=\"y\" runner=\"s\"/>\n<destination id=\"x\" runner=\"s\">\n{resubmits}</destination>\n</destinations>\n</job_conf>"
        )
    };
    let (key, line, msg) = refused(
        "j.xml",
        &xml(
            "<resubmit condition=\"walltime_reached\" destination=\"y\"/>\n<resubmit condition=\"any_failure\" destination=\"z\"/>\n",
        ),
    );
    assert_eq!(key, "<destination id=\"x\"> <resubmit destination>");
    assert_eq!(line, Some(7));
    assert!(msg.contains("`z`"), "{msg}");
    let (key, line, msg) = refused(
        "j.xml",
        &xml("<resubmit condition=\"walltime_reached and attempt &lt;\" destination=\"y\"/>\n"),
    );
    assert_eq!(key, "<destination id=\"x\"> <resubmit condition>");
    assert_eq!(line, Some(6));
    assert!(msg.contains("end"), "{msg}");
    let (key, _, _) = refused(
        "j.xml",
        &xml("<resubmit destination=\"y\" delay=\"soon\"/>\n"),
    );
    assert_eq!(key, "<destination id=\"x\"> <resubmit delay>");
    let ok = load(
        "j.xml",
        &xml("<resubmit condition=\"unknown_error and attempt &lt;= 5\" delay=\"30\"/>\n"),
    )
    .unwrap();
    let r = &ok.execution("x").unwrap().resubmit[0];
    assert_eq!(r.environment, None);
    assert_eq!(r.delay, Some(Duration::from_secs(30)));
}
