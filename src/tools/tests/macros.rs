//! Macro expansion: imports, xml macros with yields and params, tokens, and errors that name
//! the file, line and the missing macro or token.

use super::repo_path;
use crate::tools::{Input, ParamKind, Tool, ToolError};

fn load(fixture: &str) -> Result<Tool, ToolError> {
    Tool::from_file(
        &repo_path(&format!("tests/fixtures/tools/macros/{fixture}")),
        None,
    )
}

fn invalid(fixture: &str) -> (String, usize, String, String) {
    match load(fixture) {
        Err(ToolError::Invalid {
            file,
            line,
            construct,
            message,
        }) => (file.display().to_string(), line, construct, message),
        other => panic!("{fixture}: expected Invalid, got {other:?}"),
    }
}

#[test]
fn imports_xml_macros_yields_params_and_tokens_expand() {
    let tool = load("tool.xml").unwrap();
    // Tokens in attributes and text, nested tokens, tokens from imported files.
    assert_eq!(tool.version, "2.5+galaxy0");
    assert_eq!(tool.profile.as_deref(), Some("22.01"));
    assert_eq!(tool.command, "echo 2.5 $n $m > '$out'");
    assert_eq!(tool.requirements.len(), 1);
    assert_eq!(tool.requirements[0].name, "mytool");
    assert_eq!(tool.requirements[0].version.as_deref(), Some("2.5"));
    // Macro params: required `name`, `min` defaulted.
    let n = tool.param("n").unwrap();
    assert!(matches!(n.kind, ParamKind::Integer { min: Some(0), .. }));
    let m = tool.param("m").unwrap();
    assert!(matches!(m.kind, ParamKind::Integer { min: Some(1), .. }));
    // Unnamed and named yields inside a section from an imported macro.
    let Input::Section(wrap) = &tool.inputs[2] else {
        panic!("{:?}", tool.inputs[2]);
    };
    let names: Vec<&str> = wrap.inputs.iter().map(Input::name).collect();
    assert_eq!(names, ["inner", "last"]);
    assert_eq!(tool.param("wrap|last").unwrap().name, "last");
    // `<macro>` without a type is an xml macro, from a file imported by an import.
    assert_eq!(tool.outputs[0].label.as_deref(), Some("result"));
}

#[test]
fn a_missing_macro_is_named_at_the_expand() {
    let (file, line, construct, message) = invalid("missing.xml");
    assert!(file.ends_with("missing.xml"), "{file}");
    assert_eq!((line, construct.as_str()), (7, "<expand macro=\"nope\">"));
    assert!(message.contains("no macro named 'nope'"), "{message}");
    assert!(message.contains("requirements"), "{message}");
}

#[test]
fn a_missing_macro_param_is_named() {
    let (_, line, construct, message) = invalid("param_missing.xml");
    assert_eq!((line, construct.as_str()), (9, "<expand macro=\"number\">"));
    assert!(message.contains("'name'"), "{message}");
}

#[test]
fn import_cycles_are_refused_at_the_import() {
    let (file, line, construct, message) = invalid("cycle.xml");
    assert!(file.ends_with("cycle_b.xml"), "{file}");
    assert_eq!(
        (line, construct.as_str()),
        (3, "<import>cycle_a.xml</import>")
    );
    assert!(message.contains("cycle"), "{message}");
}

#[test]
fn errors_in_expanded_elements_point_into_the_macro_file() {
    let (file, line, construct, _) = invalid("bad_expanded.xml");
    assert!(file.ends_with("more.xml"), "{file}");
    assert_eq!((line, construct.as_str()), (8, "<unknown_child> in <data>"));
}

fn inline(xml: &str) -> Result<Tool, ToolError> {
    Tool::from_xml(xml, std::path::Path::new("t.xml"), None)
}

#[test]
fn inline_macros_tokens_and_their_errors() {
    let ok = inline(
        "<tool id=\"t\" name=\"T\"><macros><token name=\"@A@\">x@B@</token>\
         <token name=\"@B@\">y</token></macros><command>echo @A@</command></tool>",
    )
    .unwrap();
    assert_eq!(ok.command, "echo xy");
    let undefined =
        inline("<tool id=\"t\" name=\"T\" version=\"@NOPE@\"><command>true</command></tool>");
    match undefined {
        Err(ToolError::Invalid { line, message, .. }) => {
            assert_eq!(line, 1);
            assert!(message.contains("no token named '@NOPE@'"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let recursive = inline(
        "<tool id=\"t\" name=\"T\"><macros><xml name=\"a\"><expand macro=\"a\"/></xml></macros>\
         <command>true</command><inputs><expand macro=\"a\"/></inputs></tool>",
    );
    match recursive {
        Err(ToolError::Invalid { message, .. }) => {
            assert!(message.contains("expands itself"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let no_yield = inline(
        "<tool id=\"t\" name=\"T\"><macros><xml name=\"a\"><param name=\"p\" type=\"text\"/></xml>\
         </macros><command>true</command><inputs><expand macro=\"a\"><token name=\"z\"/></expand>\
         </inputs></tool>",
    );
    match no_yield {
        Err(ToolError::Invalid { message, .. }) => {
            assert!(message.contains("<yield name=\"z\"/>"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
