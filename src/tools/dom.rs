//! A small element tree built with quick-xml, keeping each element's byte offset so errors can
//! name a line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::ToolError;

/// One XML element: its attributes (unescaped), child elements and its own text content
/// (text, CDATA and entity references, concatenated).
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
    /// Byte offset of the `<` that opens the element.
    pub pos: usize,
    /// Byte offset just after the start tag (where the element's content begins).
    pub content_pos: usize,
    /// For an element copied in from a macro file: that file, whose source the offsets refer
    /// to. `None`: the offsets are in the document being read.
    pub origin: Option<Arc<Origin>>,
}

/// A macro file an expanded element came from.
#[derive(Debug)]
pub(crate) struct Origin {
    pub file: PathBuf,
    pub src: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Marks this element and everything inside it as read from `origin`.
    pub fn set_origin(&mut self, origin: &Arc<Origin>) {
        self.origin = Some(Arc::clone(origin));
        for child in &mut self.children {
            child.set_origin(origin);
        }
    }
}

/// A parsed document: its root element and the source, to turn offsets into lines.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    pub root: Element,
    pub src: &'a str,
}

impl Document<'_> {
    /// The 1-based line of byte offset `pos`.
    pub fn line(&self, pos: usize) -> usize {
        line_of(self.src, pos)
    }
}

pub(crate) fn line_of(src: &str, pos: usize) -> usize {
    let end = pos.min(src.len());
    src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Reads a file into a string, naming the file on failure.
pub(crate) fn read_file(path: &Path) -> Result<String, ToolError> {
    std::fs::read_to_string(path).map_err(|source| ToolError::Io {
        file: path.to_path_buf(),
        source,
    })
}

pub(crate) fn parse<'a>(src: &'a str, file: &Path) -> Result<Document<'a>, ToolError> {
    let invalid = |pos: usize, message: String| ToolError::Invalid {
        file: file.to_path_buf(),
        line: line_of(src, pos),
        construct: "XML".to_string(),
        message,
    };
    let mut reader = Reader::from_str(src);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let at = usize::try_from(reader.error_position()).unwrap_or(before);
            invalid(at, e.to_string())
        })?;
        match event {
            Event::Start(start) => {
                let mut element = element(&start, before).map_err(|m| invalid(before, m))?;
                element.content_pos = usize::try_from(reader.buffer_position()).unwrap_or(before);
                stack.push(element);
            }
            Event::Empty(start) => {
                let element = element(&start, before).map_err(|m| invalid(before, m))?;
                close(&mut stack, &mut root, element).map_err(|m| invalid(before, m))?;
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| invalid(before, "unexpected closing tag".into()))?;
                close(&mut stack, &mut root, element).map_err(|m| invalid(before, m))?;
            }
            Event::Text(text) => {
                let text = text
                    .xml_content()
                    .map_err(|e| invalid(before, e.to_string()))?;
                append_text(&mut stack, &text).map_err(|m| invalid(before, m))?;
            }
            Event::CData(data) => {
                let text = data
                    .xml_content()
                    .map_err(|e| invalid(before, e.to_string()))?;
                append_text(&mut stack, &text).map_err(|m| invalid(before, m))?;
            }
            Event::GeneralRef(reference) => {
                let name = reference
                    .decode()
                    .map_err(|e| invalid(before, e.to_string()))?;
                let c = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => predefined_entity(&name)
                        .ok_or_else(|| invalid(before, format!("unknown entity '&{name};'")))?,
                    Err(e) => return Err(invalid(before, e.to_string())),
                };
                append_text(&mut stack, c.encode_utf8(&mut [0; 4]))
                    .map_err(|m| invalid(before, m))?;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(invalid(
            open.pos,
            format!("<{}> is never closed", open.name),
        ));
    }
    let root = root.ok_or_else(|| invalid(src.len(), "no root element".into()))?;
    Ok(Document { root, src })
}

fn element(start: &BytesStart<'_>, pos: usize) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("<{name}>: {e}"))?;
        let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
        let value = attr
            .unescape_value()
            .map_err(|e| format!("<{name} {key}>: {e}"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        pos,
        ..Element::default()
    })
}

fn close(
    stack: &mut [Element],
    root: &mut Option<Element>,
    element: Element,
) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(element);
            Ok(())
        }
        None if root.is_none() => {
            *root = Some(element);
            Ok(())
        }
        None => Err(format!("<{}>: a second root element", element.name)),
    }
}

fn append_text(stack: &mut [Element], text: &str) -> Result<(), String> {
    match stack.last_mut() {
        Some(element) => {
            element.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err("text outside the root element".into()),
    }
}

fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_give_lines_and_entities_resolve() {
        let src = "<?xml version=\"1.0\"?>\n<a x=\"1 &amp; 2\">\n  <b>t &lt;&#65;&gt;</b>\n\n  <c><![CDATA[if [ 1 ]; then echo \"&\"; fi]]></c>\n</a>\n";
        let doc = parse(src, Path::new("t.xml")).unwrap();
        assert_eq!(doc.root.name, "a");
        assert_eq!(doc.root.attr("x"), Some("1 & 2"));
        assert_eq!(doc.line(doc.root.pos), 2);
        assert_eq!(doc.root.children[0].text, "t <A>");
        assert_eq!(doc.line(doc.root.children[0].pos), 3);
        assert_eq!(doc.root.children[1].text, "if [ 1 ]; then echo \"&\"; fi");
        assert_eq!(doc.line(doc.root.children[1].pos), 5);
    }

    #[test]
    fn malformed_xml_names_file_and_line() {
        let err = parse("<a>\n<b>\n</a>\n", Path::new("bad.xml")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("bad.xml:"), "{text}");
        assert!(text.contains("XML"), "{text}");
    }
}
