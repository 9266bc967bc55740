//! Galaxy's tool macros (`util/xml_macros.py`), expanded in the element tree before the tool
//! is read.
//!
//! - `<macros>` holds `<import>` (a file relative to the tool's directory, itself a
//!   `<macros>` document, imports followed recursively, cycles refused), `<xml name>` (or
//!   `<macro name>` / `<macro type="xml">`), `<token name="@X@">` and `<template>` (dropped:
//!   Cheetah templates are not supported yet).
//! - `<expand macro="m">` is replaced by the children of macro `m`: unnamed `<yield/>`s by the
//!   non-token children of `<expand>`, `<yield name="n"/>` by the children of its
//!   `<token name="n">` child; macro params (`tokens="a,b"` required, `token_a="default"`)
//!   become `@A@` from `<expand a="...">`; nested expands are expanded, a macro inside itself
//!   is refused.
//! - Tokens are replaced in every text, attribute value and attribute name.
//!
//! Elements copied from a macro file keep that file as their origin, so errors name the
//! macro file and the line there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ToolError;
use super::dom::{self, Element, Origin};

/// Where errors are reported: the tool file and its source.
pub(crate) struct Place<'a> {
    pub file: &'a Path,
    pub src: &'a str,
}

impl Place<'_> {
    fn invalid(&self, el: &Element, construct: String, message: String) -> ToolError {
        let (file, line) = match &el.origin {
            Some(origin) => (origin.file.clone(), dom::line_of(&origin.src, el.pos)),
            None => (self.file.to_path_buf(), dom::line_of(self.src, el.pos)),
        };
        ToolError::Invalid {
            file,
            line,
            construct,
            message,
        }
    }
}

#[derive(Default)]
struct Macros {
    xml: BTreeMap<String, Element>,
    tokens: Vec<(String, String)>,
}

/// Expands the macros of `root` (a `<tool>`) in place and removes its `<macros>`.
pub(crate) fn expand(root: &mut Element, at: &Place<'_>) -> Result<(), ToolError> {
    let mut macros = Macros::default();
    if let Some(index) = root.children.iter().position(|c| c.name == "macros") {
        let macros_el = root.children.remove(index);
        let dir = at.file.parent().unwrap_or(Path::new("."));
        let mut chain = vec![canonical(at.file)];
        load(&macros_el, dir, &mut chain, &mut macros, at)?;
    }
    let tokens = nested_tokens(&macros.tokens, root, at)?;
    expand_children(root, &macros, &mut Vec::new(), at)?;
    replace_tokens(root, &tokens);
    check_leftover_tokens(root, at)
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Reads a `<macros>` element: its imports first, then its own definitions.
fn load(
    macros_el: &Element,
    dir: &Path,
    chain: &mut Vec<PathBuf>,
    macros: &mut Macros,
    at: &Place<'_>,
) -> Result<(), ToolError> {
    for import in macros_el.children.iter().filter(|c| c.name == "import") {
        let path = dir.join(import.text.trim());
        let key = canonical(&path);
        if chain.contains(&key) {
            let construct = format!("<import>{}</import>", import.text.trim());
            let message = format!("import cycle: {} imports itself", path.display());
            return Err(at.invalid(import, construct, message));
        }
        let src = std::fs::read_to_string(&path).map_err(|source| ToolError::Io {
            file: path.clone(),
            source,
        })?;
        let mut root = dom::parse(&src, &path)?.root;
        let origin = Arc::new(Origin {
            file: path.clone(),
            src: src.clone(),
        });
        root.set_origin(&origin);
        if root.name != "macros" {
            let construct = format!("<{}>", root.name);
            return Err(at.invalid(&root, construct, "a macro file's root is <macros>".into()));
        }
        chain.push(key);
        load(&root, dir, chain, macros, at)?;
        chain.pop();
    }
    for el in &macros_el.children {
        let kind = match el.name.as_str() {
            "macro" => el.attr("type").unwrap_or("xml"),
            other => other,
        };
        match kind {
            "import" | "template" => {}
            "xml" | "token" => {
                let name = el.attr("name").map(str::trim).filter(|n| !n.is_empty());
                let name = name.ok_or_else(|| {
                    let construct = format!("<{}>", el.name);
                    at.invalid(el, construct, "missing attribute 'name'".into())
                })?;
                if kind == "xml" {
                    macros.xml.insert(name.to_string(), el.clone());
                } else {
                    macros.tokens.push((name.to_string(), el.text.clone()));
                }
            }
            other => {
                let construct = format!("<{other}> in <macros>");
                let message = "expected <import>, <xml>, <token>, <template> or <macro>";
                return Err(at.invalid(el, construct, message.into()));
            }
        }
    }
    Ok(())
}

/// Galaxy's `expand_nested_tokens`: a token's value may use other tokens.
fn nested_tokens(
    tokens: &[(String, String)],
    root: &Element,
    at: &Place<'_>,
) -> Result<Vec<(String, String)>, ToolError> {
    let mut tokens = tokens.to_vec();
    for i in 0..tokens.len() {
        let (name, value) = tokens[i].clone();
        for (j, (_, other)) in tokens.iter_mut().enumerate() {
            if other.contains(&name) {
                if i == j {
                    let construct = format!("<token name=\"{name}\">");
                    let message = "a token cannot contain itself".to_string();
                    return Err(at.invalid(root, construct, message));
                }
                *other = other.replace(&name, &value);
            }
        }
    }
    Ok(tokens)
}

/// Replaces every `<expand>` below `parent`, depth first, in document order.
fn expand_children(
    parent: &mut Element,
    macros: &Macros,
    visited: &mut Vec<String>,
    at: &Place<'_>,
) -> Result<(), ToolError> {
    let mut children = Vec::with_capacity(parent.children.len());
    for mut child in std::mem::take(&mut parent.children) {
        if child.name == "expand" {
            children.extend(expand_one(&child, macros, visited, at)?);
        } else {
            expand_children(&mut child, macros, visited, at)?;
            children.push(child);
        }
    }
    parent.children = children;
    Ok(())
}

fn expand_one(
    expand: &Element,
    macros: &Macros,
    visited: &mut Vec<String>,
    at: &Place<'_>,
) -> Result<Vec<Element>, ToolError> {
    let name = expand.attr("macro").unwrap_or_default().trim().to_string();
    let construct = format!("<expand macro=\"{name}\">");
    if name.is_empty() {
        return Err(at.invalid(expand, construct, "missing attribute 'macro'".into()));
    }
    if visited.contains(&name) {
        let message = format!(
            "macro '{name}' expands itself (through {})",
            visited.join(", ")
        );
        return Err(at.invalid(expand, construct, message));
    }
    let Some(def) = macros.xml.get(&name) else {
        let known: Vec<&str> = macros.xml.keys().map(String::as_str).collect();
        let message = format!("no macro named '{name}' (known: {})", known.join(", "));
        return Err(at.invalid(expand, construct, message));
    };
    let mut body = def.clone();
    for token in expand.children.iter().filter(|c| c.name == "token") {
        let token_name = token.attr("name").unwrap_or_default();
        if !fill_yields(&mut body, Some(token_name), &token.children) {
            let message = format!("macro '{name}' has no <yield name=\"{token_name}\"/>");
            return Err(at.invalid(token, construct, message));
        }
    }
    let rest: Vec<Element> = expand
        .children
        .iter()
        .filter(|c| c.name != "token")
        .cloned()
        .collect();
    fill_yields(&mut body, None, &rest);
    let params = macro_params(def, expand, &name, at)?;
    for child in &mut body.children {
        replace_tokens(child, &params);
    }
    visited.push(name);
    expand_children(&mut body, macros, visited, at)?;
    visited.pop();
    Ok(body.children)
}

/// Replaces the `<yield>`s named `name` (any `<yield>` for `None`) with `with`.
fn fill_yields(parent: &mut Element, name: Option<&str>, with: &[Element]) -> bool {
    let mut found = false;
    let mut children = Vec::with_capacity(parent.children.len());
    for mut child in std::mem::take(&mut parent.children) {
        let matches = child.name == "yield" && name.is_none_or(|n| child.attr("name") == Some(n));
        if matches {
            found = true;
            children.extend(with.iter().cloned());
        } else {
            found |= fill_yields(&mut child, name, with);
            children.push(child);
        }
    }
    parent.children = children;
    found
}

/// `@NAME@` → value for a macro's params, from the `<expand>` attributes or the defaults.
fn macro_params(
    def: &Element,
    expand: &Element,
    name: &str,
    at: &Place<'_>,
) -> Result<Vec<(String, String)>, ToolError> {
    let quote = def.attr("token_quote").unwrap_or("@");
    let mut declared: Vec<(String, Option<String>)> = Vec::new();
    for (key, value) in &def.attrs {
        if key == "tokens" {
            let names = value.split(',').map(str::trim).filter(|t| !t.is_empty());
            declared.extend(names.map(|t| (t.to_string(), None)));
        } else if let Some(token) = key.strip_prefix("token_")
            && key != "token_quote"
        {
            declared.push((token.to_string(), Some(value.clone())));
        }
    }
    let mut params = Vec::new();
    for (token, default) in declared {
        let value = expand.attr(&token).map(str::to_string).or(default);
        let Some(value) = value else {
            let construct = format!("<expand macro=\"{name}\">");
            let message = format!("missing the macro parameter '{token}'");
            return Err(at.invalid(expand, construct, message));
        };
        params.push((format!("{quote}{}{quote}", token.to_uppercase()), value));
    }
    Ok(params)
}

fn replace_in(text: &str, tokens: &[(String, String)]) -> Option<String> {
    let mut out: Option<String> = None;
    for (name, value) in tokens {
        let current = out.as_deref().unwrap_or(text);
        if current.contains(name.as_str()) {
            out = Some(current.replace(name.as_str(), value));
        }
    }
    out
}

fn replace_tokens(el: &mut Element, tokens: &[(String, String)]) {
    if tokens.is_empty() {
        return;
    }
    if let Some(text) = replace_in(&el.text, tokens) {
        el.text = text;
    }
    for (key, value) in &mut el.attrs {
        if let Some(v) = replace_in(value, tokens) {
            *value = v;
        }
        if let Some(k) = replace_in(key, tokens) {
            *key = k;
        }
    }
    for child in &mut el.children {
        replace_tokens(child, tokens);
    }
}

/// An attribute still holding `@NAME@` after expansion names a token nobody defined.
fn check_leftover_tokens(el: &Element, at: &Place<'_>) -> Result<(), ToolError> {
    for (key, value) in &el.attrs {
        if let Some(token) = leftover_token(value) {
            let construct = format!("<{} {key}=\"{value}\">", el.name);
            let message = format!("no token named '{token}'");
            return Err(at.invalid(el, construct, message));
        }
    }
    el.children
        .iter()
        .try_for_each(|c| check_leftover_tokens(c, at))
}

/// The first `@NAME@` (upper case, digits, `_`) in `text`.
fn leftover_token(text: &str) -> Option<&str> {
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find('@') {
        let after = &rest[start + 1..];
        let len = after
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        if len > 0 && after.as_bytes().get(len) == Some(&b'@') {
            let begin = offset + start;
            return Some(&text[begin..begin + len + 2]);
        }
        offset += start + 1;
        rest = after;
    }
    None
}
