use std::path::Path;

use super::{repo_path, shipped};
use crate::tools::{ParamKind, ParamValue, Tool, ToolBox, ToolError};

fn load_error(fixture: &str) -> (String, usize, String, String) {
    let path = repo_path(&format!("tests/fixtures/tools/{fixture}"));
    match Tool::from_file(&path, None) {
        Err(ToolError::Invalid {
            file,
            line,
            construct,
            message,
        }) => {
            assert_eq!(file, path);
            (file.display().to_string(), line, construct, message)
        }
        other => panic!("{fixture}: expected Invalid, got {other:?}"),
    }
}

#[test]
fn shipped_tools_load_with_sections() {
    let toolbox = shipped();
    let ids: Vec<&str> = toolbox.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "upload1",
            "cat1",
            "sort1",
            "wc_gnu",
            "text_cut_columns",
            "text_sort_column",
            "text_paste",
            "text_grep",
            "text_fasta_stats",
            "text_column_summary",
            "text_label_lines",
            "Text first1",
            "sleep"
        ]
    );
    let summary = toolbox.get("text_column_summary").unwrap();
    assert_eq!(summary.section.as_deref(), Some("Text Tools"));
    assert_eq!(summary.version, "1.0.0");
    let cat1 = toolbox.get("cat1").unwrap();
    assert_eq!(cat1.section.as_deref(), Some("Text Manipulation"));
    assert_eq!(cat1.name, "Concatenate datasets");
    let params: Vec<&crate::tools::Param> = cat1.top_params().collect();
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["input1", "input2"]);
    assert!(!params[0].optional && params[1].optional);
    assert_eq!(cat1.outputs[0].name, "out_file1");
    assert_eq!(toolbox.get("sort1").unwrap().inputs[0].name(), "input");
    assert_eq!(toolbox.get("wc_gnu").unwrap().outputs[0].format, "tabular");
    let sleep = toolbox.get("sleep").unwrap();
    assert!(matches!(
        sleep.param("seconds").unwrap().kind,
        ParamKind::Integer {
            min: Some(0),
            max: None
        }
    ));
    let upload = toolbox.get("upload1").unwrap();
    assert!(upload.is_upload());
    assert_eq!(upload.outputs[0].name, "output0");
}

#[test]
fn unknown_param_type_is_rejected() {
    let (_, line, construct, message) = load_error("repeat_param.xml");
    assert_eq!((line, construct.as_str()), (4, "param type=\"repeat\""));
    assert!(message.contains("unsupported parameter type"), "{message}");
}

#[test]
fn missing_id_is_rejected() {
    let (_, line, construct, message) = load_error("missing_id.xml");
    assert_eq!((line, construct.as_str()), (2, "<tool>"));
    assert!(message.contains("'id'"), "{message}");
}

#[test]
fn cheetah_directive_is_rejected_at_its_line() {
    let (_, line, construct, _) = load_error("cheetah_if.xml");
    assert_eq!(
        (line, construct.as_str()),
        (4, "#import subprocess in <command>")
    );
}

#[test]
fn a_tool_importing_itself_is_a_cycle() {
    let (_, line, construct, message) = load_error("macros.xml");
    assert_eq!(
        (line, construct.as_str()),
        (3, "<import>macros.xml</import>")
    );
    assert!(message.contains("import cycle"), "{message}");
}

#[test]
fn error_text_names_file_line_and_construct() {
    let path = repo_path("tests/fixtures/tools/repeat_param.xml");
    let text = Tool::from_file(&path, None).unwrap_err().to_string();
    assert!(
        text.contains("repeat_param.xml:4: param type=\"repeat\":"),
        "{text}"
    );
}

#[test]
fn missing_tool_file_is_an_io_error_naming_it() {
    let conf = repo_path("tests/fixtures/tools/tool_conf_missing.xml");
    match ToolBox::load(&conf) {
        Err(ToolError::Io { file, .. }) => assert!(file.ends_with("does_not_exist.xml")),
        other => panic!("{other:?}"),
    }
}

fn invalid(xml: &str) -> (usize, String, String) {
    match Tool::from_xml(xml, Path::new("t.xml"), None) {
        Err(ToolError::Invalid {
            line,
            construct,
            message,
            ..
        }) => (line, construct, message),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

const OUT: &str = "<outputs><data name=\"out\" format=\"txt\"/></outputs>";

#[test]
fn duplicate_and_colliding_names_are_rejected() {
    let dup = format!(
        "<tool id=\"t\" name=\"T\">\n<command>true</command>\n<inputs>\n\
         <param name=\"a\" type=\"text\"/>\n<param name=\"a\" type=\"integer\" value=\"1\"/>\n\
         </inputs>{OUT}</tool>"
    );
    let (line, construct, message) = invalid(&dup);
    assert_eq!((line, construct.as_str()), (5, "param name=\"a\""));
    assert!(message.contains("duplicate"));
    let collide = "<tool id=\"t\" name=\"T\"><command>true</command><inputs>\
         <param name=\"out\" type=\"text\"/></inputs>\n<outputs>\n<data name=\"out\"/></outputs></tool>";
    let (line, construct, message) = invalid(collide);
    assert_eq!((line, construct.as_str()), (3, "data name=\"out\""));
    assert!(message.contains("parameter"), "{message}");
}

#[test]
fn unsupported_constructs_are_named() {
    let cases = [
        ("<stdio><bogus/></stdio>", "<bogus> in <stdio>"),
        (
            "<stdio><exit_code range=\"x\"/></stdio>",
            "<exit_code range=\"x\">",
        ),
        (
            "<stdio><regex match=\"(?=a)\"/></stdio>",
            "<regex match=\"(?=a)\">",
        ),
        ("<environment_variables/>", "<environment_variables>"),
        (
            "<configfiles><inputs name=\"j\"/></configfiles>",
            "<inputs> in <configfiles>",
        ),
        (
            "<inputs><upload_dataset name=\"u\"/></inputs>",
            "<upload_dataset>",
        ),
        (
            "<inputs><param name=\"s\" type=\"text\" multiple=\"true\"/></inputs>",
            "param type=\"text\" multiple=\"true\"",
        ),
        (
            "<inputs><param name=\"c\" type=\"data_column\" data_ref=\"nope\"/></inputs>",
            "param type=\"data_column\" data_ref=\"nope\"",
        ),
        (
            "<inputs><param name=\"c\" type=\"color\" value=\"red\"/></inputs>",
            "param type=\"color\" value=\"red\"",
        ),
        (
            "<inputs><conditional name=\"c\"><param name=\"t\" type=\"text\"/></conditional></inputs>",
            "<conditional name=\"c\"> param type",
        ),
        (
            "<inputs><repeat name=\"r\" min=\"3\" max=\"2\"/></inputs>",
            "<repeat name=\"r\">",
        ),
        (
            "<outputs><data name=\"o\"><discover_datasets/></data></outputs>",
            "<discover_datasets> in <data>",
        ),
        (
            "<command detect_errors=\"loud\">true</command>",
            "<command detect_errors=\"loud\">",
        ),
        (
            "<inputs><param name=\"t\" type=\"text\"><validator type=\"no_options\"/></param></inputs>",
            "validator type=\"no_options\"",
        ),
        (
            "<outputs><collection name=\"c\"/></outputs>",
            "<collection>",
        ),
    ];
    for (body, expected) in cases {
        let command = if body.starts_with("<command") {
            ""
        } else {
            "<command>true</command>"
        };
        let xml = format!("<tool id=\"t\" name=\"T\">{command}{body}</tool>");
        let (_, construct, _) = invalid(&xml);
        assert_eq!(construct, expected, "{body}");
    }
}

#[test]
fn ignored_elements_and_defaults() {
    let xml = "<tool id=\"t\" name=\"T\" profile=\"21.01\" hidden=\"false\">\
        <description> d </description><requirements><requirement type=\"package\">x</requirement></requirements>\
        <edam_topics/><xrefs/><citations/><tests/><help>h</help>\
        <command detect_errors=\"aggressive\">echo hi &gt; '$out'</command>\
        <inputs><param argument=\"--min-len\" type=\"integer\" value=\"3\"/></inputs>\
        <outputs><data name=\"out\"/></outputs></tool>";
    let tool = super::tool(xml);
    assert_eq!(tool.version, "1.0.0");
    assert_eq!(tool.description, "d");
    assert_eq!(tool.command, "echo hi > '$out'");
    assert_eq!(tool.inputs[0].name(), "min_len");
    assert_eq!(tool.outputs[0].format, "data");
}

#[test]
fn constructs_outside_the_cheetah_subset_and_unknown_names_are_rejected() {
    let cases = [
        ("#import sys\ntrue", "#import sys in <command>"),
        ("cat $inptu", "$inptu in <command>"),
        ("echo \"$HOME\"", "$HOME in <command>"),
        ("#def f()\nx\n#end def", "#def in <command>"),
        ("echo ${input.ext", "end of line in <command>"),
    ];
    for (command, expected) in cases {
        let xml = format!(
            "<tool id=\"t\" name=\"T\"><command><![CDATA[{command}]]></command>\
             <inputs><param name=\"input\" type=\"data\"/></inputs></tool>"
        );
        let (_, construct, _) = invalid(&xml);
        assert_eq!(construct, expected, "{command}");
    }
    let fine = "<tool id=\"t\" name=\"T\"><command><![CDATA[#!/bin/bash\n# a shell comment\n\
        ## a Cheetah comment\n#set $y = 1\n\
        echo \\${#HOME} \\${HOME%/*} \\$HOME.bak ${input}.bak $input.ext $y > '$input'\n]]></command>\
        <inputs><param name=\"input\" type=\"data\"/></inputs></tool>";
    super::tool(fine);
}

#[test]
fn relative_tool_path_resolves_beside_the_conf() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf")).unwrap();
    std::fs::create_dir_all(dir.path().join("mytools")).unwrap();
    std::fs::write(
        dir.path().join("mytools/a.xml"),
        "<tool id=\"a\" name=\"A\"><command>true</command></tool>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mytools/b.xml"),
        "<tool id=\"a\" name=\"B\">\n<command>true</command></tool>",
    )
    .unwrap();
    let conf = dir.path().join("conf/tool_conf.xml");
    std::fs::write(
        &conf,
        "<toolbox tool_path=\"../mytools\"><tool file=\"a.xml\"/></toolbox>",
    )
    .unwrap();
    let toolbox = ToolBox::load(&conf).unwrap();
    assert_eq!(toolbox.get("a").unwrap().section, None);
    std::fs::write(
        &conf,
        "<toolbox tool_path=\"../mytools\"><tool file=\"a.xml\"/><tool file=\"b.xml\"/></toolbox>",
    )
    .unwrap();
    match ToolBox::load(&conf) {
        Err(ToolError::Invalid {
            file, construct, ..
        }) => {
            assert!(file.ends_with("b.xml"));
            assert_eq!(construct, "<tool id=\"a\">");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn crlf_files_give_unix_commands_and_right_lines() {
    let xml = "<tool id=\"t\" name=\"T\">\r\n<command><![CDATA[\r\necho a\r\necho b\r\n]]></command>\r\n\
               <inputs>\r\n<upload_dataset name=\"r\"/></inputs></tool>";
    let (line, construct, _) = invalid(xml);
    assert_eq!((line, construct.as_str()), (7, "<upload_dataset>"));
    let ok = "<tool id=\"t\" name=\"T\">\r\n<command><![CDATA[\r\necho a\r\necho b\r\n]]></command></tool>";
    assert_eq!(super::tool(ok).command, "echo a\necho b");
}

#[test]
fn output_filters_are_evaluated_in_the_job_values() {
    let xml = |filter: &str| {
        format!(
            "<tool id=\"t\" name=\"T\"><command>true</command><inputs>\n\
             <param name=\"kind\" type=\"select\"><option value=\"tab\"/><option value=\"csv\"/></param>\n\
             <conditional name=\"opts\"><param name=\"mode\" type=\"select\">\
             <option value=\"a\"/><option value=\"b\"/></param><when value=\"a\"/><when value=\"b\"/>\
             </conditional></inputs>\n<outputs>\n\
             <data name=\"out\" format=\"txt\">\n<filter>{filter}</filter>\n</data>\n\
             <data name=\"always\" format=\"txt\"/></outputs></tool>"
        )
    };
    let (line, construct, message) = invalid(&xml("nope == 'tab'"));
    assert_eq!((line, construct.as_str()), (6, "$nope in <filter>"));
    assert!(message.contains("'nope'"), "{message}");
    let values = |kind: &str, mode: &str| {
        vec![
            ("kind".to_string(), ParamValue::Select(kind.into())),
            ("opts|mode".to_string(), ParamValue::Select(mode.into())),
        ]
    };
    let kept = |filter: &str, kind: &str, mode: &str| {
        let tool = Tool::from_xml(&xml(filter), Path::new("t.xml"), None).unwrap();
        let kept = tool.kept_outputs(&values(kind, mode));
        assert_eq!(kept[1], (true, None), "an output without a filter is kept");
        kept[0].0
    };
    assert!(kept("kind == 'tab'", "tab", "a"));
    assert!(!kept("kind == 'tab'", "csv", "a"));
    assert!(kept("opts['mode'] == 'b'", "tab", "b"));
    assert!(!kept("opts['mode'] == 'b'", "tab", "a"));
    assert!(kept("str(opts.mode) == 'a'", "tab", "a"));
}
