//! A job that runs out of disk space ends `error` saying so (ENOSPC, "No space left on
//! device", and the full place), and the handler logs it at WARN. Small tmpfs mounts stand
//! in for full disks: under `file_path` (the job's exit code is still written) and under
//! `job_working_directory` (it is not).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::helpers::{Backend, Opts, TestServer, str_field};

const FILL_TOOL: &str = r#"<tool id="fill" name="Fill" version="1.0.0">
    <description>writes bytes to its output or to stdout</description>
    <command detect_errors="exit_code"><![CDATA[
if [ '$target' = stdout ]; then head -c $bytes /dev/zero; else head -c $bytes /dev/zero > '$out_file1'; fi
    ]]></command>
    <inputs>
        <param name="bytes" type="integer" value="1" min="0"/>
        <param name="target" type="select">
            <option value="output">output</option>
            <option value="stdout">stdout</option>
        </param>
    </inputs>
    <outputs>
        <data name="out_file1" format="txt"/>
    </outputs>
</tool>
"#;

const TOOL_CONF: &str = "<?xml version=\"1.0\"?>\n<toolbox tool_path=\"{TMP}/disk-tools\">\n    <tool file=\"fill.xml\"/>\n</toolbox>\n";

/// A tmpfs of `size` mounted at `path`; unmounted when dropped.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(path).expect("create the mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .unwrap_or_else(|e| panic!("this test needs the `mount` command: {e}"));
        assert!(
            out.status.success(),
            "this test mounts a {size} tmpfs at {} to stand in for a full disk, which needs \
             root (or CAP_SYS_ADMIN in a container that allows mounts); mount said: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[test]
fn a_job_out_of_disk_space_says_so() {
    let server = TestServer::start(
        Backend::Sqlite,
        Opts::default()
            .file("disk-tools/fill.xml", FILL_TOOL)
            .file("disk-tools/tool_conf.xml", TOOL_CONF)
            .tool_config_file("disk-tools/tool_conf.xml"),
    );
    // Declared after the server: unmounted before its temp dir goes.
    let objects = Tmpfs::mount(&server.dir.path().join("objects"), "2m");
    let jobs = Tmpfs::mount(&server.dir.path().join("jobs"), "2m");
    let user = server.create_user("disk");
    let hid = server.create_history(&user.key, "disk");
    let fill = |target: &str| {
        let run = server.run_tool(
            &user.key,
            &hid,
            "fill",
            json!({"bytes": 3_000_000, "target": target}),
        );
        let job_id = str_field(&run["jobs"][0], "id");
        let job = server.wait_job(&user.key, &job_id);
        let (status, full) = server
            .api
            .get(&format!("/api/jobs/{job_id}?full=true"), Some(&user.key));
        assert_eq!(status, 200, "{full}");
        assert_eq!(job["state"], "error", "{full}\n{}", server.log_tail());
        full
    };

    // The output's disk fills: the job still writes its exit code.
    let full = fill("output");
    let info = str_field(&full, "info");
    assert!(info.contains("No space left on device"), "info: {info}");
    assert!(info.contains("ENOSPC"), "info: {info}");
    let objects_dir = objects.path.display().to_string();
    assert!(
        info.contains(&objects_dir),
        "info does not name {objects_dir}: {info}"
    );
    assert_eq!(full["exit_code"], 1, "{full}");
    assert!(
        str_field(&full, "stderr").contains("No space left on device"),
        "{full}"
    );

    // The job's own directory fills: not even its exit code can be written.
    let full = fill("stdout");
    let info = str_field(&full, "info");
    assert!(info.contains("No space left on device"), "info: {info}");
    let jobs_dir = jobs.path.display().to_string();
    assert!(
        info.contains(&jobs_dir),
        "info does not name {jobs_dir}: {info}"
    );
    assert!(
        info.contains("without writing its exit code"),
        "info: {info}"
    );
    assert!(full["exit_code"].is_null(), "{full}");

    let log = server.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("No space left on device"))
        .collect();
    assert!(
        warnings.iter().any(|l| l.contains(&objects_dir))
            && warnings.iter().any(|l| l.contains(&jobs_dir)),
        "no WARN line for each job out of space: {warnings:#?}\n{}",
        server.log_tail()
    );
}
