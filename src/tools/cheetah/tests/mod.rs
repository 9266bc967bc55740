//! Tests of the Cheetah subset: each construct, errors, real tools' commands, wrappers.

use super::{Map, Scope, Value, compile};

mod bench;
mod errors;
mod imports;
mod syntax;
mod tools;
mod wrappers;

/// Renders `src` with `scope`, panicking on any error.
fn render(src: &str, scope: &Scope) -> String {
    let template = compile(src).unwrap_or_else(|e| panic!("compile {src:?}: {e}"));
    template
        .render(scope)
        .unwrap_or_else(|e| panic!("render {src:?}: {e}"))
}

/// A scope with a few plain values.
fn scope() -> Scope {
    Scope::new()
        .with("name", "world")
        .with("n", 3i64)
        .with("f", 2.5f64)
        .with("yes", true)
        .with("nothing", Value::None)
        .with(
            "items",
            Value::List(vec!["a".into(), "b".into(), "c".into()]),
        )
        .with(
            "cond",
            Map::new()
                .with("mode", "fast")
                .with("inner", Map::new().with("k", 7i64)),
        )
}
