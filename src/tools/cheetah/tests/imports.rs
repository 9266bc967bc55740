//! `#import` / `#from … import` of `re`, `os` and `os.path`, as Galaxy tools use them.

use super::{render, scope};

#[test]
fn re_functions_behave_as_pythons() {
    let s = scope();
    let cases = [
        (
            r"#import re
$re.sub(r'[^\w\-\.]', '_', 'my file (1).txt')",
            "my_file__1_.txt",
        ),
        (
            r"#import re
#set n = re.sub('(a)(b)', r'\2\1', 'abab', 1)
$n",
            "baab",
        ),
        (
            r"#import re as regex
#if regex.match('chr', 'chr1') and not regex.match('hr', 'chr1')#yes#end if#",
            "yes",
        ),
        (
            r"#import re
#set m = re.search(r'(\d+)-(\d+)', 'from 10-20 on')
${m.group(1)}:${m.group(2)} ${m.groups()}",
            "10:20 ('10', '20')",
        ),
        (
            r"#import re
${str(re.fullmatch('a+', 'aab'))} ${re.findall(r'\d', 'a1b22')} ${re.split(',\s*', 'a, b,c')}",
            "None ['1', '2', '2'] ['a', 'b', 'c']",
        ),
        (
            r"#import re
${re.escape('a.b*c')}",
            r"a\.b\*c",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(render(src, &s), want, "{src}");
    }
}

#[test]
fn os_path_functions_and_from_imports() {
    let s = scope();
    let cases = [
        (
            "#import os.path\n${os.path.basename('/a/b.fastq.gz')} ${os.path.splitext('b.fastq.gz')}",
            "b.fastq.gz ('b.fastq', '.gz')",
        ),
        (
            "#import os\n${os.path.join('/a', 'b', 'c.txt')} ${os.path.dirname('/a/b/c')}",
            "/a/b/c.txt /a/b",
        ),
        (
            "#from os.path import basename, splitext as ext\n${basename('/x/y.txt')} ${ext('y')[1]}.",
            "y.txt .",
        ),
        ("#from os import path\n${path.split('/x/y')}", "('/x', 'y')"),
        (
            "#from re import sub\n#set t = sub('[aeiou]', '', 'galaxy')\n$t",
            "glxy",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(render(src, &s), want, "{src}");
    }
}
