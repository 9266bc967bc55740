//! Command blocks of real tools (Galaxy distribution, IUC, text_processing) with our values.

use std::sync::Arc;

use super::render;
use crate::tools::cheetah::wrappers::{
    DatasetListWrapper, DatasetWrapper, InputKind, ParamWrapper,
};
use crate::tools::cheetah::{Map, Scope, Value};

fn boolean(on: bool, truevalue: &str) -> Value {
    let kind = InputKind::Boolean {
        truevalue: truevalue.into(),
        falsevalue: String::new(),
    };
    ParamWrapper::new(kind, on).value()
}

fn select(v: &str) -> Value {
    ParamWrapper::new(InputKind::Select, v).value()
}

fn columns(cols: &[&str]) -> Value {
    let raw: Vec<Value> = cols.iter().map(|c| Value::from(*c)).collect();
    ParamWrapper::new(InputKind::Select, raw).value()
}

fn table(path: &str, ext: &str) -> Value {
    let mut d = DatasetWrapper::new(path, ext, "my table");
    d.datatypes = vec![ext.into(), "tabular".into(), "txt".into(), "data".into()];
    d.value()
}

/// Collapses runs of whitespace, as the command line does.
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

const DATAMASH: &str = r#"
            datamash
                $header_in
                $header_out
                $need_sort
                $print_full_line
                $ignore_case
                #if $in_file.ext == 'csv'
                    -t ,
                #end if
                #if $grouping
                    #set grouping_str = ",".join($grouping)
                    --group $grouping_str
                #end if
                #for $oper in $operations
                    ${oper.op_name}
                    ${oper.op_column}
                #end for
                < $in_file > '$out_file'
"#;

#[test]
fn iuc_datamash() {
    let ops = Value::List(vec![
        Map::new()
            .with("op_name", select("sum"))
            .with("op_column", select("3"))
            .into(),
        Map::new()
            .with("op_name", select("mean"))
            .with("op_column", select("4"))
            .into(),
    ]);
    let scope = Scope::new()
        .with("header_in", boolean(true, "--header-in"))
        .with("header_out", boolean(false, "--header-out"))
        .with("need_sort", boolean(true, "--sort"))
        .with("print_full_line", boolean(false, "--full"))
        .with("ignore_case", boolean(false, "--ignore-case"))
        .with("in_file", table("/d/in.csv", "csv"))
        .with("grouping", columns(&["2", "1"]))
        .with("operations", ops)
        .with("out_file", "/d/out.dat");
    assert_eq!(
        words(&render(DATAMASH, &scope)),
        "datamash --header-in --sort -t , --group 2,1 sum 3 mean 4 < /d/in.csv > '/d/out.dat'"
    );
}

const TP_CUT: &str = r#"
        cut
            #if str($delimiter) != '':
                -d"${delimiter}"
            #end if
            ${complement}
            ${cut_type_options.cut_element}
            '${cut_type_options.list}'
            '${input}'
        > '${output}'
"#;

#[test]
fn text_processing_cut() {
    let scope = Scope::new()
        .with("delimiter", select(","))
        .with("complement", select(""))
        .with(
            "cut_type_options",
            Map::new()
                .with("cut_element", select("-f"))
                .with("list", columns(&["1", "3"])),
        )
        .with("input", table("/d/a.tsv", "tabular"))
        .with("output", "/d/out");
    assert_eq!(
        words(&render(TP_CUT, &scope)),
        "cut -d\",\" -f '1,3' '/d/a.tsv' > '/d/out'"
    );
}

const TP_SORT: &str = "
        (
            export LC_ALL=C;
            #if int($header) > 0:
                sed -u '${header}'q &&
            #end if

            sort $unique $ignore_case --stable -t '\t'

            #for $key in $sortkeys:
                -k '${key.column}${key.order}${key.style},${key.column}'
            #end for

        ) < '${infile}' > '${outfile}'
";

#[test]
fn text_processing_sort() {
    let key = |c: &str, o: &str, s: &str| -> Value {
        Map::new()
            .with("column", select(c))
            .with("order", select(o))
            .with("style", select(s))
            .into()
    };
    let scope = Scope::new()
        .with(
            "header",
            ParamWrapper::new(InputKind::Integer, 1i64).value(),
        )
        .with("unique", boolean(false, "--unique"))
        .with("ignore_case", boolean(true, "-i"))
        .with(
            "sortkeys",
            Value::List(vec![key("1", "", ""), key("3", "r", "n")]),
        )
        .with("infile", table("/d/in.bed", "bed"))
        .with("outfile", "/d/out.bed");
    assert_eq!(
        words(&render(TP_SORT, &scope)),
        "( export LC_ALL=C; sed -u '1'q && sort -i --stable -t ' ' -k '1,1' -k '3rn,3' ) \
         < '/d/in.bed' > '/d/out.bed'"
    );
}

/// Galaxy's shape for bedtools/samtools wrappers: optional inputs, metadata, shell variables.
const WRAPPER_STYLE: &str = r"## a samtools-like wrapper
#set $ref = $reference_source.ref_file if $reference_source.source == 'history' else $reference_source.index.fields.path
ln -s '$input' in.bam &&
samtools sort -@ \${GALAXY_SLOTS:-1} -m \$((\${GALAXY_MEMORY_MB:-768}/\${GALAXY_SLOTS:-1}))M
#if $regions:
    -L '$regions'
#end if
    --reference '$ref'
#if $input.is_of_type('bam') and $input.metadata.bam_index
    --index '$input.metadata.bam_index'
#end if
    -o '$output' in.bam
    #for $i, $f in enumerate($extra)
    --extra$i '$f' #slurp
    #end for
";

#[test]
fn samtools_style_wrapper() {
    let mut bam = DatasetWrapper::new("/d/x.bam", "bam", "reads");
    bam.metadata.insert("bam_index", "/d/x.bai");
    let scope = Scope::new()
        .with("input", Value::Object(Arc::new(bam)))
        .with("regions", DatasetWrapper::none().value())
        .with(
            "reference_source",
            Map::new()
                .with("source", select("history"))
                .with("ref_file", table("/d/ref.fa", "fasta")),
        )
        .with("output", "/d/out.bam")
        .with(
            "extra",
            Value::List(vec![table("/d/e1", "txt"), table("/d/e2", "txt")]),
        );
    assert_eq!(
        render(WRAPPER_STYLE, &scope),
        "ln -s '/d/x.bam' in.bam &&\n\
         samtools sort -@ ${GALAXY_SLOTS:-1} -m $((${GALAXY_MEMORY_MB:-768}/${GALAXY_SLOTS:-1}))M\n    \
         --reference '/d/ref.fa'\n    \
         --index '/d/x.bai'\n    \
         -o '/d/out.bam' in.bam\n    \
         --extra0 '/d/e1'     --extra1 '/d/e2' "
    );
}

const BEDTOOLS_INTERSECT: &str = r#"
        #set inputBs = '" "'.join( [ str( $file ) for $file in $inputB ] )
        #set modes = ' '.join( str($overlap_mode).split(',') )

        bedtools intersect
            #if $inputA.is_of_type('bam'):
                -abam "${inputA}"
            #else:
                -a "${inputA}"
            #end if

            -b "${inputBs}"
            $split
            #if str($fraction) != "None" and str($fraction):
              -f "${fraction}"
            #end if
            $modes
            > "${output}"
"#;

#[test]
fn iuc_bedtools_intersect() {
    let b = DatasetListWrapper(vec![
        Arc::new(DatasetWrapper::new("/d/b1.bed", "bed", "b1")),
        Arc::new(DatasetWrapper::new("/d/b2.bed", "bed", "b2")),
    ]);
    let scope = Scope::new()
        .with("inputA", table("/d/a.bed", "bed"))
        .with("inputB", b.value())
        .with("overlap_mode", columns(&["-wa", "-wb"]))
        .with("split", boolean(false, "-split"))
        .with("fraction", ParamWrapper::text("0.5").value())
        .with("output", "/d/out.bed");
    assert_eq!(
        words(&render(BEDTOOLS_INTERSECT, &scope)),
        r#"bedtools intersect -a "/d/a.bed" -b "/d/b1.bed" "/d/b2.bed" -f "0.5" -wa -wb > "/d/out.bed""#
    );
}

#[test]
fn free_names_are_what_the_caller_provides() {
    let t = crate::tools::cheetah::compile(BEDTOOLS_INTERSECT).unwrap();
    let names: Vec<String> = t.free_names().into_iter().collect();
    assert_eq!(
        names,
        [
            "fraction",
            "inputA",
            "inputB",
            "output",
            "overlap_mode",
            "split"
        ]
    );
    let t = crate::tools::cheetah::compile(DATAMASH).unwrap();
    assert!(!t.free_names().contains("grouping_str") && !t.free_names().contains("oper"));
    assert!(t.free_names().contains("operations"));
}
