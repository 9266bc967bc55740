//! Galaxy's wrapper semantics: sanitized text, typed comparisons, truthiness, datasets.

use super::render;
use crate::tools::cheetah::wrappers::{
    DatasetListWrapper, DatasetWrapper, InputKind, ParamWrapper,
};
use crate::tools::cheetah::{Map, Scope, Value, Wrapper};
use std::sync::Arc;

#[test]
fn text_params_print_sanitized_and_compare_as_sanitized_text() {
    let s = Scope::new()
        .with("t", ParamWrapper::text("a'b; rm -rf $HOME").value())
        .with("plain", ParamWrapper::text("a b").value())
        .with("empty", ParamWrapper::text("").value());
    assert_eq!(render("$t", &s), "a__sq__bX rm -rf XHOME");
    assert_eq!(
        render("#echo $plain == 'a b' and $empty == ''\n", &s),
        "True"
    );
    assert_eq!(render("#if $empty#yes#else#no#end if#", &s), "no");
    assert_eq!(
        render("#echo $t.split(';')[0]\n", &s),
        "a__sq__bX rm -rf XHOME"
    );
    assert_eq!(render("#echo $t.value\n", &s), "a'b; rm -rf $HOME");
    // As in Galaxy: `in` iterates the wrapper (one item, the whole text).
    assert_eq!(
        render("#echo 'b' in $plain, 'b' in str($plain)\n", &s),
        "(False, True)"
    );
}

#[test]
fn numbers_compare_as_numbers() {
    let s = Scope::new()
        .with("i", ParamWrapper::new(InputKind::Integer, 5i64).value())
        .with("zero", ParamWrapper::new(InputKind::Integer, 0i64).value())
        .with("x", ParamWrapper::new(InputKind::Float, 0.5).value())
        .with(
            "none",
            ParamWrapper::new(InputKind::Integer, Value::None)
                .optional()
                .value(),
        );
    let src = "#echo $i == 5, $i > 4, $i == '5', $x < 1, int($i) + 1, float($x) * 2\n";
    assert_eq!(render(src, &s), "(True, True, False, True, 6, 1.0)");
    assert_eq!(render("#if $zero#y#else#n#end if# $x", &s), "n 0.5");
    assert_eq!(
        render(
            "#echo $none == '', $none == 'None', $none is None, bool($none)\n",
            &s
        ),
        "(True, False, False, False)"
    );
    // Galaxy's `to_param_dict_string`: `None` is written as nothing.
    assert_eq!(render("[$none]", &s), "[]");
}

#[test]
fn booleans_and_selects() {
    let kind = InputKind::Boolean {
        truevalue: "--yes".into(),
        falsevalue: "--no".into(),
    };
    let s = Scope::new()
        .with("b", ParamWrapper::new(kind, true).value())
        .with("sel", ParamWrapper::new(InputKind::Select, "x>y").value())
        .with(
            "multi",
            ParamWrapper::new(
                InputKind::Select,
                vec![Value::from("a"), Value::from("b|c")],
            )
            .value(),
        )
        .with(
            "nosel",
            ParamWrapper::new(InputKind::Select, Value::None).value(),
        );
    let src = "$b #echo $b == '--yes', $b == 'true', $b == 'false', $b == True\n";
    assert_eq!(render(src, &s), "--yes (True, True, False, True)\n");
    assert_eq!(
        render("$sel $multi #echo $sel == 'x__gt__y', $nosel == ''\n", &s),
        "x__gt__y a,bXc (True, True)\n"
    );
    assert_eq!(render("#for v in $multi#[$v]#end for#", &s), "[a][bXc]");
    assert_eq!(
        render("#echo 'a' in $multi, len($multi)\n", &s),
        "(True, 2)"
    );
}

#[test]
fn datasets() {
    let mut d = DatasetWrapper::new("/data/1.dat", "bed", "my; file");
    d.datatypes = vec!["bed".into(), "interval".into(), "tabular".into()];
    d.metadata = Map::new()
        .with("columns", 6i64)
        .with("column_names", Value::List(vec![]));
    d.extra.insert("dbkey", "hg38");
    let d = Arc::new(d);
    let mut e = DatasetWrapper::new("/data/2.dat", "txt", "two");
    e.element_identifier = Some("sample 2".into());
    let s = Scope::new()
        .with("d", Value::Object(d.clone()))
        .with("none", DatasetWrapper::none().value())
        .with("list", DatasetListWrapper(vec![d, Arc::new(e)]).value());
    assert_eq!(
        render(
            "$d $d.file_name $d.ext $d.name $d.element_identifier $d.metadata.columns $d.dbkey",
            &s
        ),
        "/data/1.dat /data/1.dat bed myX file myX file 6 hg38"
    );
    assert_eq!(
        render(
            "#echo $d.is_of_type('tabular'), $d.is_of_type('fasta', 'bam')\n",
            &s
        ),
        "(True, False)"
    );
    assert_eq!(render("#if $none#x#else#[$none]#end if#", &s), "[None]");
    let src = "[$d.metadata.unset] #echo $d.metadata.get('columns'), $d.metadata.element_is_set('dbkey'), len($d.metadata)\n";
    assert_eq!(render(src, &s), "[] (6, False, 2)\n");
    assert_eq!(
        render(
            "$list #for f in $list#$f.element_identifier/#end for#$list[1].ext",
            &s
        ),
        "/data/1.dat,/data/2.dat myX file/sample 2/txt"
    );
}

/// A caller's own object: the engine only sees the trait.
#[derive(Debug)]
struct Counter(i64);

impl Wrapper for Counter {
    fn str(&self) -> String {
        format!("counter:{}", self.0)
    }
    fn attr(&self, name: &str) -> Option<Value> {
        (name == "count").then_some(Value::Int(self.0))
    }
    fn call(&self, method: &str, args: &[Value]) -> Result<Value, String> {
        match (method, args) {
            ("plus", [Value::Int(i)]) => Ok(Value::Int(self.0 + i)),
            _ => Err(format!("no {method}")),
        }
    }
    fn truthy(&self) -> bool {
        self.0 != 0
    }
}

#[test]
fn custom_wrappers() {
    let s = Scope::new().with("c", Value::object(Counter(2)));
    assert_eq!(
        render("$c $c.count $c.plus(3) #if $c#t#end if#", &s),
        "counter:2 2 5 t"
    );
    let t = crate::tools::cheetah::compile("$c.minus(1)").unwrap();
    assert_eq!(t.render(&s).unwrap_err().to_string(), "line 1: no minus");
}
