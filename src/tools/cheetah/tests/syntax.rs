//! Each supported construct, one at a time.

use super::{render, scope};
use crate::tools::cheetah::{Scope, Value};

#[test]
fn placeholders() {
    let s = scope();
    assert_eq!(render("hello $name!", &s), "hello world!");
    assert_eq!(render("${name}s", &s), "worlds");
    assert_eq!(render("$cond.mode $cond.inner.k", &s), "fast 7");
    assert_eq!(render("${cond.inner.k}", &s), "7");
    assert_eq!(render("$cond['mode'] $items[0] $items[-1]", &s), "fast a c");
    assert_eq!(render("$items[1:]", &s), "['b', 'c']");
    assert_eq!(
        render("$name.upper() $name.replace('o', '0')", &s),
        "WORLD w0rld"
    );
    assert_eq!(
        render("$getVar('cond.inner.k', 0) $getVar('x.y', 'd')", &s),
        "7 d"
    );
    assert_eq!(render("[$nothing] $yes $f", &s), "[] True 2.5");
    assert_eq!(render("$!missing.", &s), ".");
    assert_eq!(
        render("$(1 + $n) ${ name } $[items[0]] $() ${}", &s),
        "4 world a $() ${}"
    );
}

#[test]
fn dollar_is_text_unless_a_placeholder() {
    let s = scope();
    assert_eq!(
        render("awk '{print $1}' \\$HOME", &s),
        "awk '{print $1}' $HOME"
    );
    assert_eq!(
        render("\\${GALAXY_SLOTS:-1} $ x", &s),
        "${GALAXY_SLOTS:-1} $ x"
    );
    assert_eq!(render("$name.", &s), "world.");
    assert_eq!(render("\\#if", &s), "#if");
}

#[test]
fn hash_is_text_unless_a_directive() {
    let s = scope();
    let src = "#!/bin/bash\n# a shell comment\necho '#' #notadirective #global #with\n";
    assert_eq!(render(src, &s), src);
}

#[test]
fn if_elif_else() {
    let src = "#if $n > 5\nbig\n#elif $n == 3\nthree\n#else\nother\n#end if\ndone";
    assert_eq!(render(src, &scope()), "three\ndone");
    let src = "#if $cond.mode == 'slow'\nslow\n#else if not $nothing\nnone\n#end if\n";
    assert_eq!(render(src, &scope()), "none\n");
    assert_eq!(
        render("a #if $yes#on#else#off#end if# b", &scope()),
        "a on b"
    );
    assert_eq!(render("#if $yes\non\n#end if (yes)\nb", &scope()), "on\nb");
}

#[test]
fn directive_lines_emit_nothing_but_inline_text_keeps_its_newline() {
    let src = "cmd\n    #if $yes\n    --flag\n    #end if\n  ## note\nend";
    assert_eq!(render(src, &scope()), "cmd\n    --flag\nend");
    assert_eq!(render("x #if $yes\ny\n#end if\n", &scope()), "x \ny\n");
    assert_eq!(render("a ## comment\nb", &scope()), "a \nb");
    let src = "  #if $yes ## why\nyes\n  #end if: ## done\n";
    assert_eq!(render(src, &scope()), "yes\n");
    assert_eq!(
        render("a #* one\ntwo *# b\n  #* c *#\nd", &scope()),
        "a  b\nd"
    );
    assert_eq!(render("a #* x #* nested *# y *#b #*\nc", &scope()), "a b ");
    assert_eq!(render("a #\n  #  \nb", &scope()), "a b");
}

#[test]
fn for_loops() {
    let s = scope();
    assert_eq!(
        render("#for $x in $items\n$x,#slurp\n#end for\n", &s),
        "a,b,c,"
    );
    let src = "#for i, x in enumerate($items)\n#if $i == 1\n#continue\n#end if\n$i=$x \n#end for";
    assert_eq!(render(src, &s), "0=a \n2=c \n");
    let src =
        "#for ($k, $v) in $cond.items()\n$k;#slurp\n#if $k == 'mode'\n#break\n#end if\n#end for";
    assert_eq!(render(src, &s), "mode;");
    assert_eq!(render("#for x in range(3)#$x#end for#", &s), "012");
    assert_eq!(
        render("#for a, b in zip([1, 2], 'xy')#$a$b #end for#", &s),
        "1x 2y "
    );
}

#[test]
fn set_silent_and_mutation() {
    let s = scope();
    let src = "#set $parts = []\n#for x in $items\n#silent $parts.append($x.upper())\n#end for\n#set global j = ' '.join($parts)\n$j";
    assert_eq!(render(src, &s), "A B C");
    assert_eq!(render("#set i = 1\n#set i += 2\n$i", &s), "3");
    assert_eq!(
        render("#set d = {'a': 1}\n#silent d.update({'b': 2})\n$d", &s),
        "{'a': 1, 'b': 2}"
    );
    assert_eq!(
        render("#set t = 1, 'a'\n$t #echo len($t)\n", &s),
        "(1, 'a') 2\n"
    );
}

#[test]
fn expressions() {
    let s = scope();
    let cases = [
        ("1 + 2 * 3 - 4", "3"),
        ("7 / 2", "3.5"),
        ("-7 // 2", "-4"),
        ("-7 % 3", "2"),
        ("'a' + 'b' * 2", "abb"),
        ("1 < $n <= 3", "True"),
        ("'b' in $items and 'z' not in $items", "True"),
        ("$nothing is None and $n is not None", "True"),
        ("'x' if $yes else 'y'", "x"),
        ("not $yes or $n", "3"),
        (
            "[1, 2.0, 'a', None, True, (1,)]",
            "[1, 2.0, 'a', None, True, (1,)]",
        ),
        ("'%s-%03d-%.2f%%' % ('a', 7, 1.5)", "a-007-1.50%"),
        ("'{}:{}'.format($name, 2)", "world:2"),
        ("str(1.0) + str(1e20)", "1.01e+20"),
        ("int('42') + int(2.9) + int(float('1.5'))", "45"),
        ("len($items) + len('ab') + len($cond)", "7"),
        ("sorted([3, 1, 2], reverse=True)", "[3, 2, 1]"),
        ("list(enumerate('ab', start=1))", "[(1, 'a'), (2, 'b')]"),
        ("min(3, 1, 2), max($items)", "(1, 'c')"),
        (
            "list('ab') + [bool(0), bool('x')]",
            "['a', 'b', False, True]",
        ),
        ("' a,b '.strip().split(',')", "['a', 'b']"),
        ("'a b  c'.split(None, 1)", "['a', 'b  c']"),
        (
            "'file.txt'.endswith(('.txt', '.tsv')) and 'x'.startswith('x')",
            "True",
        ),
        ("\"it's\" + r'\\n'", "it's\\n"),
        ("c\"$name-$cond.mode\"", "world-fast"),
        (
            "$cond.get('missing', 'dflt') + $cond.get('mode')",
            "dfltfast",
        ),
        ("abs(-2) + $f", "4.5"),
    ];
    for (expr, want) in cases {
        let src = format!("#echo {expr}\n");
        assert_eq!(render(&src, &s), want, "{expr}");
    }
}

#[test]
fn values_print_as_python_str() {
    let s = Scope::new()
        .with("f", 1e-7)
        .with("g", 3.0)
        .with(
            "m",
            crate::tools::cheetah::Map::new().with("k", Value::None),
        )
        .with("t", Value::Tuple(vec![Value::Str("it's".into())]));
    assert_eq!(
        render("$f $g $m $t", &s),
        "1e-07 3.0 {'k': None} (\"it's\",)"
    );
}

#[test]
fn float_repr_is_python_like() {
    use crate::tools::cheetah::float_repr;
    assert_eq!(float_repr(1.0), "1.0");
    assert_eq!(float_repr(0.1), "0.1");
    assert_eq!(float_repr(1e-7), "1e-07");
    assert_eq!(float_repr(1.5e16), "1.5e+16");
    assert_eq!(float_repr(123456.789), "123456.789");
    assert_eq!(float_repr(-0.00012), "-0.00012");
}

#[test]
fn dollars_in_string_literals() {
    let s = scope();
    assert_eq!(render("#set x = \"a $name\"\n$x", &s), "a $name");
    assert_eq!(
        render("#set x = c\"a\\$b-$name-${n}\"\n$x", &s),
        "a\\$b-world-3"
    );
    assert_eq!(
        render("#set x = 'awk {print \\$1}'\n$x", &s),
        "awk {print \\$1}"
    );
    assert_eq!(render("#set x = r'$name'\n$x", &s), "$name");
    assert_eq!(
        render("#echo range(5, 0, -2), range(0)\n", &s),
        "([5, 3, 1], [])"
    );
}

#[test]
fn comprehensions() {
    let s = scope().with("x", "kept");
    let src = "#echo [x.upper() for x in $items if x != 'b'], ','.join(str(i * 2) for i in range(3)), x\n";
    assert_eq!(render(src, &s), "(['A', 'C'], '0,2,4', 'kept')");
    let src = "#echo [k + '=' + str(v) for (k, v) in $cond.items() if k != 'inner']\n";
    assert_eq!(render(src, &s), "['mode=fast']");
}

#[test]
fn continued_directive_lines() {
    let src = "#set x = [1,\n    2] + \\\n    [3]\n#if $x and \\\n  $yes\nyes $x\n#end if\n";
    assert_eq!(render(src, &scope()), "yes [1, 2, 3]\n");
}

#[test]
fn templates_and_scopes_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<crate::tools::cheetah::Template>();
    send_sync::<Scope>();
    let t = crate::tools::cheetah::compile("#set n = $n + 1\n$n").unwrap();
    let s = scope();
    let outs: Vec<String> = std::thread::scope(|ts| {
        let hs: Vec<_> = (0..2).map(|_| ts.spawn(|| t.render(&s).unwrap())).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outs, ["4", "4"]);
}

#[test]
fn scopes_and_maps_from_pairs() {
    use crate::tools::cheetah::Map;
    let m: Map = [("b", 1i64), ("a", 2i64)].into_iter().collect();
    let s: Scope = [("m", Value::Map(m))].into_iter().collect();
    assert_eq!(render("$m $m.a", &s), "{'b': 1, 'a': 2} 2");
}

#[test]
fn galaxy_variables_are_plain_names() {
    let s = scope()
        .with("__tool_directory__", "/tools/filters")
        .with("__new_file_path__", "/tmp/new");
    assert_eq!(
        render(
            "python '$__tool_directory__/sorter.py' -t '${__new_file_path__}'",
            &s
        ),
        "python '/tools/filters/sorter.py' -t '/tmp/new'"
    );
}

#[test]
fn single_line_forms() {
    let s = scope();
    assert_eq!(
        render("a\n  #if $yes: on $n\n#if $nothing: off\nb", &s),
        "a\n  on 3\nb"
    );
    assert_eq!(
        render("#for x in $items: [$x]\nend", &s),
        "[a]\n[b]\n[c]\nend"
    );
}
