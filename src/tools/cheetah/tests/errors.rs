//! What the subset rejects at compile time (with line and construct), and render errors.

use super::scope;
use crate::tools::cheetah::{CheetahError, RenderError, compile};

fn rejected(src: &str) -> CheetahError {
    match compile(src) {
        Ok(_) => panic!("{src:?} compiled"),
        Err(e) => e,
    }
}

#[test]
fn unsupported_directives_name_line_and_construct() {
    for (src, line, construct) in [
        ("a\n#def f()\nx\n#end def\n", 2, "#def"),
        ("#import subprocess\n", 1, "#import subprocess"),
        (
            "x\n\n  #from os import system\n",
            3,
            "#from os import system",
        ),
        ("#from os.path import *\n", 1, "#from os.path import *"),
        (
            "#from re import sub\n$sub('a', 'b', 'c', flags=2)\n",
            2,
            "keyword arguments to sub()",
        ),
        (
            "#import re\n#set x = re.sub('a(?=b)', '', $y)\n",
            2,
            "re.sub('a(?=b)')",
        ),
        (
            "#from re import match as m\n#if m(r'(a)\\1', $y)\n#end if\n",
            2,
            "re.match('(a)\\1')",
        ),
        ("#include 'x.tmpl'\n", 1, "#include"),
        ("#raw\n$x\n#end raw\n", 1, "#raw"),
        ("#extends Base\n", 1, "#extends"),
        ("#while True\n#end while\n", 1, "#while"),
        ("#try\n#except\n#end try\n", 1, "#try"),
        ("#compiler-settings\n", 1, "#compiler-settings"),
    ] {
        let e = rejected(src);
        assert_eq!(
            (e.line, e.construct.as_str()),
            (line, construct),
            "{src:?}: {e}"
        );
    }
}

#[test]
fn python_outside_the_subset() {
    for (src, line, construct) in [
        (
            "ok\n#set x = [y for y in $z for w in y]\n",
            2,
            "nested comprehension",
        ),
        ("#set x = {k: 1 for k in $z}\n", 1, "dict comprehension"),
        ("#set x = lambda: 1\n", 1, "lambda"),
        ("#set x = 2 ** 3\n", 1, "'**' operator"),
        ("#set x = 2 | 3\n", 1, "'|' operator"),
        ("\n\n$os.path.join('a')\n#set x = open('f')\n", 4, "open()"),
        ("#set x = f'{y}'\n", 1, "f-string"),
        ("#set x = $y[::2]\n", 1, "slice step"),
        ("#set x = sum(*y)\n", 1, "*args in a call"),
        (
            "#set x = sorted($y, key=len)\n",
            1,
            "keyword argument key= to sorted()",
        ),
        ("#if 1\n#else: no\n#end if\n", 2, ":"),
        ("#set x[0] = 1\n", 1, "#set x ["),
    ] {
        let e = rejected(src);
        assert_eq!(
            (e.line, e.construct.as_str()),
            (line, construct),
            "{src:?}: {e}"
        );
    }
}

#[test]
fn unbalanced_blocks_and_unclosed_things() {
    for (src, line, construct) in [
        ("#if $x\nyes\n", 1, "#if"),
        ("a\n#for x in y\n#end if\n", 3, "#end if"),
        ("#end for\n", 1, "#end for"),
        ("#else\n", 1, "#else"),
        ("x\n#break\n", 2, "#break"),
        ("#set x = 'abc\n", 1, "string literal"),
        ("${name\n", 1, "end of line"),
        ("#if\n#end if\n", 1, "#if"),
        ("#if $x then 'a' else 'b'\n", 1, "#if … then … else"),
        ("a\n#set x = 1 2\n", 2, "2"),
        ("#for x in y z\n#end for\n", 1, "z"),
        ("#if 1\n#else --flag\n#end if\n", 2, "-"),
    ] {
        let e = rejected(src);
        assert_eq!(
            (e.line, e.construct.as_str()),
            (line, construct),
            "{src:?}: {e}"
        );
    }
}

#[test]
fn render_errors_name_what_is_missing() {
    let t = compile("a\n$name\n$missing.x\n").unwrap();
    assert_eq!(
        t.render(&scope()),
        Err(RenderError::NotFound {
            line: 3,
            name: "missing".into()
        })
    );
    let t = compile("#if $cond.nope == 1\n#end if\n").unwrap();
    assert_eq!(
        t.render(&scope()),
        Err(RenderError::NotFound {
            line: 1,
            name: "cond.nope".into()
        })
    );
    let t = compile("\n#set x = 1 / 0\n").unwrap();
    assert!(matches!(
        t.render(&scope()),
        Err(RenderError::Eval { line: 2, .. })
    ));
    let t = compile("$getVar('a.b')").unwrap();
    assert!(matches!(
        t.render(&scope()),
        Err(RenderError::NotFound { .. })
    ));
    for src in [
        "#echo 'ab' * 100000000\n",
        "#echo '%99999999s' % 'a'\n",
        "#echo range(100000000)\n",
    ] {
        if let Ok(t) = compile(src) {
            assert!(
                matches!(t.render(&scope()), Err(RenderError::Eval { .. })),
                "{src}"
            );
        }
    }
    let t = compile("#echo int('x')\n").unwrap();
    let e = t.render(&scope()).unwrap_err();
    assert_eq!(e.to_string(), "line 1: invalid literal for int(): 'x'");
}
