//! The command line and configuration errors: exit code 2 and a message that
//! names the file, the key or line, and the culprit.

use std::fs;
use std::process::Output;

use crate::helpers::{Backend, ConfigDir, Opts, psql};

both_backends!(
    bad_workers_value,
    yaml_syntax_error,
    unknown_assign_method_xml,
    unknown_assign_method_yml,
    tool_with_conditional,
    missing_config_file,
    check_config_and_migrate,
);

fn text(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the server on `dir`'s config and asserts exit code 2 and that stderr mentions every
/// one of `needles`.
fn assert_config_error(dir: &ConfigDir, needles: &[&str]) -> String {
    let config = dir.config.display().to_string();
    let out = dir.run_cli(&["-c", &config, "--mode", "all-in-one"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "expected exit code 2\n{all}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "stderr does not mention `{needle}`\n{all}"
        );
    }
    stderr
}

/// True when `text` refers to line `n` in one of the usual ways.
fn mentions_line(text: &str, n: usize) -> bool {
    let pats = [
        format!("line {n}"),
        format!("line: {n}"),
        format!("line={n}"),
        format!(":{n}:"),
        format!(":{n} "),
        format!(":{n},"),
        format!(":{n})"),
        format!(":{n}\n"),
    ];
    pats.iter().any(|p| text.contains(p.as_str()))
}

fn bad_workers_value(backend: Backend) {
    let dir = ConfigDir::new(
        backend,
        &Opts::default().gravity("  gunicorn: {bind: \"127.0.0.1:{PORT}\", workers: lots}\n"),
    );
    assert_config_error(&dir, &["galaxy.yml", "workers"]);
    // check-config reports the same error the same way.
    let config = dir.config.display().to_string();
    let out = dir.run_cli(&["check-config", "-c", &config]);
    assert_eq!(out.status.code(), Some(2), "check-config\n{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("galaxy.yml") && stderr.contains("workers"),
        "check-config\n{}",
        text(&out)
    );
}

fn yaml_syntax_error(backend: Backend) {
    let dir = ConfigDir::new(backend, &Opts::default());
    fs::write(
        &dir.config,
        format!(
            "gravity:\n  gunicorn: {{bind: \"127.0.0.1:{}\", workers: 2}}\ngalaxy:\n  id_secret: test\n    broken: indentation\n",
            dir.port
        ),
    )
    .expect("write galaxy.yml");
    let stderr = assert_config_error(&dir, &["galaxy.yml"]);
    assert!(
        mentions_line(&stderr, 5),
        "stderr does not name line 5:\n{stderr}"
    );
}

const JOB_CONF_XML: &str = r#"<?xml version="1.0"?>
<job_conf>
    <plugins workers="2">
        <plugin id="local" type="runner" load="galaxy.jobs.runners.local:LocalJobRunner"/>
    </plugins>
    <handlers assign_with="telepathy"/>
    <destinations default="local">
        <destination id="local" runner="local"/>
    </destinations>
</job_conf>
"#;

fn unknown_assign_method_xml(backend: Backend) {
    let dir = ConfigDir::new(
        backend,
        &Opts::default()
            .file("bad_job_conf.xml", JOB_CONF_XML)
            .job_config_file("bad_job_conf.xml"),
    );
    assert_config_error(&dir, &["bad_job_conf.xml", "telepathy"]);
}

const JOB_CONF_YML: &str = "runners:
  local:
    load: galaxy.jobs.runners.local:LocalJobRunner
    workers: 2
handling:
  assign:
    - telepathy
execution:
  default: local
  environments:
    local:
      runner: local
";

fn unknown_assign_method_yml(backend: Backend) {
    let dir = ConfigDir::new(
        backend,
        &Opts::default()
            .file("bad_job_conf.yml", JOB_CONF_YML)
            .job_config_file("bad_job_conf.yml"),
    );
    assert_config_error(&dir, &["bad_job_conf.yml", "telepathy"]);
}

/// A conditional loads, but `$undefined_thing` on line 11 names nothing the tool declares.
const CONDITIONAL_TOOL: &str = r#"<tool id="cond_tool" name="Conditional" version="1.0.0">
    <inputs>
        <param name="before" type="integer" value="1"/>
        <conditional name="choice">
            <param name="mode" type="select">
                <option value="a">A</option>
                <option value="b">B</option>
            </param>
        </conditional>
    </inputs>
    <command>echo '${choice.mode}' '$undefined_thing' > '$out_file1'</command>
    <outputs>
        <data name="out_file1" format="txt"/>
    </outputs>
</tool>
"#;

fn tool_with_conditional(backend: Backend) {
    let dir = ConfigDir::new(
        backend,
        &Opts::default()
            .file("bad-tools/cond_tool.xml", CONDITIONAL_TOOL)
            .file(
                "bad-tools/tool_conf.xml",
                "<?xml version=\"1.0\"?>\n<toolbox tool_path=\"{TMP}/bad-tools\">\n    <tool file=\"cond_tool.xml\"/>\n</toolbox>\n",
            )
            .tool_config_file("bad-tools/tool_conf.xml"),
    );
    let stderr = assert_config_error(
        &dir,
        &["cond_tool.xml", "$undefined_thing", "not a parameter"],
    );
    assert!(
        mentions_line(&stderr, 11),
        "stderr does not name line 11 (where the command is):\n{stderr}"
    );
}

fn missing_config_file(backend: Backend) {
    let dir = ConfigDir::new(backend, &Opts::default());
    let missing = dir.path().join("no-such-galaxy.yml").display().to_string();
    let out = dir.run_cli(&["-c", &missing]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-galaxy.yml"),
        "stderr does not name the missing file\n{}",
        text(&out)
    );

    let out = dir.run_cli(&["--mode", "bogus"]);
    assert_eq!(out.status.code(), Some(2), "--mode bogus\n{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bogus"),
        "--mode bogus\n{}",
        text(&out)
    );

    let out = dir.run_cli(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "--no-such-flag\n{}", text(&out));
}

/// PostgreSQL: the number of tables; SQLite: the number of pages beyond the first (a
/// database file with tables has more than one page); 0 when there is no database yet.
fn table_count(dir: &ConfigDir) -> usize {
    match &dir.pg {
        Some(db) => psql(
            &db.name,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .unwrap_or_else(|e| panic!("psql: {e}"))
        .trim()
        .parse()
        .expect("a count"),
        None => {
            let Ok(bytes) = fs::read(dir.path().join("universe.sqlite")) else {
                return 0;
            };
            assert!(
                bytes.starts_with(b"SQLite format 3\0"),
                "universe.sqlite is not an SQLite database"
            );
            let page = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
            let page = if page == 1 { 65536 } else { page };
            (bytes.len() / page).saturating_sub(1)
        }
    }
}

fn check_config_and_migrate(backend: Backend) {
    let dir = ConfigDir::new(
        backend,
        &Opts::default().galaxy_extra("  no_such_option_xyz: 1"),
    );
    let config = dir.config.display().to_string();

    let out = dir.run_cli(&["check-config", "-c", &config]);
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "check-config on a good config\n{all}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("127.0.0.1:{}", dir.port)),
        "effective config lacks the bind\n{all}"
    );
    let db_marker = match &dir.pg {
        Some(db) => db.name.clone(),
        None => "universe.sqlite".into(),
    };
    assert!(
        stdout.contains(&db_marker),
        "effective config lacks the database\n{all}"
    );
    assert!(
        stdout.contains("job_handler_monitor_sleep") && stdout.contains("0.5"),
        "effective config lacks job_handler_monitor_sleep: 0.5\n{all}"
    );
    assert!(
        all.contains("no_such_option_xyz"),
        "no warning naming the unknown key\n{all}"
    );
    let fresh = ConfigDir::new(backend, &Opts::default());
    let config = fresh.config.display().to_string();
    assert_eq!(table_count(&fresh), 0, "the test database is not fresh");
    let out = fresh.run_cli(&["migrate", "-c", &config]);
    assert_eq!(out.status.code(), Some(0), "migrate\n{}", text(&out));
    assert!(
        table_count(&fresh) > 0,
        "migrate created no database/tables\n{}",
        text(&out)
    );
    let out = fresh.run_cli(&["migrate", "-c", &config]);
    assert_eq!(out.status.code(), Some(0), "second migrate\n{}", text(&out));
}
