//! Benchmark: checking a run's inputs and rendering its command, per job, for a tool with 20
//! parameters and a conditional (BENCHMARKS.md, "Templating"). Prints a table.
//!
//!   cargo run --release --bin bench_templating [-- ITERATIONS]
//!
//! Baseline, in the same run: the same command with its 20 placeholders replaced by
//! `str::replace` (the least any templating can cost), and the JSON parse of the request's
//! inputs that every run pays anyway.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use galaxy_server::tools::Tool;
use galaxy_server::tools::scope::{DatasetInfo, JobValues};

fn tool_xml() -> String {
    let mut params = String::new();
    let mut command = String::from("process --input '$input'");
    for i in 0..16 {
        params.push_str(&format!(
            "<param name=\"p{i}\" type=\"text\" value=\"v{i}\" label=\"P{i}\"/>\n"
        ));
        command.push_str(&format!(" --p{i} '$p{i}'"));
    }
    params.push_str("<param name=\"n\" type=\"integer\" value=\"5\" min=\"0\" max=\"100\"/>\n");
    params.push_str("<param name=\"x\" type=\"float\" value=\"0.5\"/>\n");
    params
        .push_str("<param name=\"flag\" type=\"boolean\" truevalue=\"--flag\" falsevalue=\"\"/>\n");
    params.push_str(
        "<conditional name=\"mode\"><param name=\"kind\" type=\"select\">\
         <option value=\"fast\">Fast</option><option value=\"exact\">Exact</option></param>\
         <when value=\"fast\"><param name=\"k\" type=\"integer\" value=\"3\"/></when>\
         <when value=\"exact\"><param name=\"tol\" type=\"float\" value=\"0.01\"/></when>\
         </conditional>\n",
    );
    command.push_str(
        " -n $n -x $x $flag\n#if $mode.kind == 'fast'\n  --fast -k $mode.k\n#else\n  \
         --exact --tol $mode.tol\n#end if\n  > '$out'",
    );
    format!(
        "<tool id=\"bench\" name=\"Bench\" version=\"1.0\">\n<command><![CDATA[{command}]]></command>\n\
         <inputs>\n<param name=\"input\" type=\"data\" format=\"tabular\"/>\n{params}</inputs>\n\
         <outputs><data name=\"out\" format=\"txt\"/></outputs>\n</tool>\n"
    )
}

fn inputs_json() -> String {
    let mut m = serde_json::Map::new();
    m.insert(
        "input".into(),
        serde_json::json!({"src": "hda", "id": "f2db41e1fa331b3e"}),
    );
    for i in 0..16 {
        m.insert(format!("p{i}"), serde_json::json!(format!("value {i}")));
    }
    m.insert("n".into(), serde_json::json!(7));
    m.insert("x".into(), serde_json::json!(0.25));
    m.insert("flag".into(), serde_json::json!(true));
    m.insert("mode".into(), serde_json::json!({"kind": "fast", "k": 9}));
    serde_json::Value::Object(m).to_string()
}

fn per_job(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        f();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let xml = tool_xml();
    let started = Instant::now();
    let tool = match Tool::from_xml(&xml, Path::new("bench.xml"), None) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench_templating: the benchmark tool does not load: {e}");
            std::process::exit(1);
        }
    };
    let load_us = started.elapsed().as_secs_f64() * 1e6;
    let raw = inputs_json();
    let parse = |s: &str| -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(s).unwrap_or_default()
    };
    let inputs = parse(&raw);
    let values = match tool.check_inputs(&inputs) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("bench_templating: the benchmark inputs are refused: {e}");
            std::process::exit(1);
        }
    };
    let mut job = JobValues {
        values: &values,
        ..JobValues::default()
    };
    let info = |path: &str| DatasetInfo {
        path: path.into(),
        ext: "tabular".into(),
        name: "input".into(),
        ..DatasetInfo::default()
    };
    job.inputs
        .insert("input".into(), info("/data/000/dataset_1.dat"));
    job.outputs
        .insert("out".into(), info("/data/000/dataset_2.dat"));
    let rendered = match tool.render(&job) {
        Ok(r) => r.command,
        Err(e) => {
            eprintln!("bench_templating: the command does not render: {e}");
            std::process::exit(1);
        }
    };
    let parse_us = per_job(iterations, || {
        black_box(parse(black_box(&raw)));
    });
    let check_us = per_job(iterations, || {
        black_box(tool.check_inputs(black_box(&inputs)).ok());
    });
    let render_us = per_job(iterations, || {
        black_box(tool.render(black_box(&job)).ok());
    });
    let both_us = per_job(iterations, || {
        if let Ok(values) = tool.check_inputs(black_box(&inputs)) {
            let mut j = JobValues {
                values: &values,
                ..JobValues::default()
            };
            j.inputs
                .insert("input".into(), info("/data/000/dataset_1.dat"));
            j.outputs
                .insert("out".into(), info("/data/000/dataset_2.dat"));
            black_box(tool.render(&j).ok());
        }
    });
    let plain = tool.command.clone();
    let replace_us = per_job(iterations, || {
        let mut s = black_box(&plain).clone();
        for i in (0..16).rev() {
            s = s.replace(&format!("$p{i}"), "value");
        }
        for name in ["$input", "$n", "$x", "$flag", "$out"] {
            s = s.replace(name, "1");
        }
        black_box(s);
    });
    println!("Rendered command ({} bytes): {rendered}", rendered.len());
    println!();
    println!("| per job ({iterations} iterations) | µs | target |");
    println!("|---|---|---|");
    println!("| check the inputs (20 params, a conditional) | {check_us:.2} | |");
    println!("| render the command (Cheetah) | {render_us:.2} | |");
    println!("| check + render, with the job's scope built | {both_us:.2} | ≤ 200 |");
    println!("| baseline: 21 `str::replace` over the same command | {replace_us:.2} | |");
    println!("| baseline: JSON parse of the request's inputs | {parse_us:.2} | |");
    println!("| once per tool at load: parse the XML and compile | {load_us:.1} | |");
}
