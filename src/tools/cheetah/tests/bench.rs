//! Render time of a typical command: run with
//! `cargo test --release --lib tools::cheetah::tests::bench -- --ignored --nocapture`.

use std::time::Instant;

use crate::tools::cheetah::wrappers::{DatasetWrapper, InputKind, ParamWrapper};
use crate::tools::cheetah::{Map, Scope, compile};

/// ~20 parameters, a conditional, a repeat.
const COMMAND: &str = r#"## a typical wrapper
tool --threads \${GALAXY_SLOTS:-1}
    #if $mode.type == 'advanced':
        --min $mode.min --max $mode.max
        #if $mode.filter
            --filter '$mode.filter'
        #end if
    #else
        --preset $mode.preset
    #end if
    #for $r in $repeats
        --region '${r.chrom}:${r.start}-${r.end}'
    #end for
    $flag1 $flag2 $flag3
    --p1 '$p1' --p2 '$p2' --p3 '$p3' --p4 $p4 --p5 $p5
    --name '$input.element_identifier' --ext $input.ext
    #if $input.is_of_type('tabular') and int($input.metadata.columns) > 3
        --cols $input.metadata.columns
    #end if
    '$input' > '$output'
"#;

fn scope() -> Scope {
    let flag = |t: &str, on: bool| {
        let kind = InputKind::Boolean {
            truevalue: t.into(),
            falsevalue: String::new(),
        };
        ParamWrapper::new(kind, on).value()
    };
    let int = |i: i64| ParamWrapper::new(InputKind::Integer, i).value();
    let text = |t: &str| ParamWrapper::text(t).value();
    let mut input = DatasetWrapper::new("/galaxy/files/000/dataset_1.dat", "bed", "regions.bed");
    input.datatypes = vec!["bed".into(), "interval".into(), "tabular".into()];
    input.metadata.insert("columns", 6i64);
    let region = |c: &str, s: i64, e: i64| {
        Map::new()
            .with("chrom", text(c))
            .with("start", int(s))
            .with("end", int(e))
            .into()
    };
    Scope::new()
        .with(
            "mode",
            Map::new()
                .with(
                    "type",
                    ParamWrapper::new(InputKind::Select, "advanced").value(),
                )
                .with("min", int(1))
                .with("max", int(100))
                .with("filter", text("score > 10"))
                .with("preset", text("fast")),
        )
        .with(
            "repeats",
            vec![region("chr1", 1, 1000), region("chr2", 5, 500)],
        )
        .with("flag1", flag("--a", true))
        .with("flag2", flag("--b", false))
        .with("flag3", flag("--c", true))
        .with("p1", text("alpha"))
        .with("p2", text("beta gamma"))
        .with("p3", text("x;y"))
        .with("p4", int(42))
        .with("p5", ParamWrapper::new(InputKind::Float, 0.05).value())
        .with("input", input.value())
        .with("output", "/galaxy/files/000/dataset_2.dat")
}

#[test]
fn typical_command_renders() {
    let out = compile(COMMAND).unwrap().render(&scope()).unwrap();
    assert!(out.contains("--filter 'score __gt__ 10'"), "{out}");
    assert!(out.contains("--region 'chr2:5-500'"), "{out}");
    assert!(
        out.contains("--p3 'xXy'") && out.contains("--cols 6"),
        "{out}"
    );
}

#[test]
#[ignore = "timing; run in release"]
fn render_time() {
    let start = Instant::now();
    let template = compile(COMMAND).unwrap();
    println!("compile: {:?}", start.elapsed());
    let scope = scope();
    let rounds = 20_000u32;
    let start = Instant::now();
    let mut total = 0;
    for _ in 0..rounds {
        total += template.render(&scope).unwrap().len();
    }
    let per = start.elapsed() / rounds;
    println!("render: {} ns/render ({total} bytes)", per.as_nanos());
}
