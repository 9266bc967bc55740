use std::io::Read as _;

use super::{PasteContent, PasteWriter, stage};

/// Galaxy's conversion done in one piece (what the streaming conversion must equal).
fn reference(content: &str, space_to_tab: bool) -> String {
    let unified = content.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::new();
    for line in unified.lines() {
        if space_to_tab {
            out.push_str(&line.split_whitespace().collect::<Vec<_>>().join("\t"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn read(staged: &super::Staged) -> String {
    let mut s = String::new();
    std::fs::File::open(&staged.path)
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(staged.size, s.len() as u64);
    s
}

const CASES: &[&str] = &[
    "a\r\nb\rc",
    "a\n\nb\n",
    "a  b\t c   \n  d e",
    "\r",
    "\r\r\n",
    "x",
    "  ",
    "a\n  ",
    "a \r\n b\u{a0}c\u{2003}d é\r",
    "fields\tand  spaces \n\n\n tail  ",
];

#[test]
fn streamed_conversion_equals_galaxys_for_every_split() {
    let dir = tempfile::tempdir().unwrap();
    for case in CASES {
        for space_to_tab in [false, true] {
            let expected = reference(case, space_to_tab);
            let staged = stage(
                PasteContent::Text(case.to_string()),
                true,
                space_to_tab,
                dir.path(),
            )
            .unwrap();
            assert_eq!(
                read(&staged),
                expected,
                "{case:?} space_to_tab={space_to_tab}"
            );
            // Written in two pieces cut at every byte, as pieces of a body arrive.
            for cut in 0..=case.len() {
                let mut w = PasteWriter::create(dir.path()).unwrap();
                w.write(&case.as_bytes()[..cut]).unwrap();
                w.write(&case.as_bytes()[cut..]).unwrap();
                let file = w.finish().unwrap();
                let staged =
                    stage(PasteContent::File(file), true, space_to_tab, dir.path()).unwrap();
                assert_eq!(read(&staged), expected, "{case:?} cut at {cut}");
            }
        }
    }
}

#[test]
fn raw_content_is_kept_as_is_and_bad_utf8_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = PasteWriter::create(dir.path()).unwrap();
    w.write(b"a\r\n").unwrap();
    let staged = stage(
        PasteContent::File(w.finish().unwrap()),
        false,
        true,
        dir.path(),
    )
    .unwrap();
    assert_eq!(read(&staged), "a\r\n");
    let mut w = PasteWriter::create(dir.path()).unwrap();
    assert!(w.write(b"ok \xff").is_err());
    let mut w = PasteWriter::create(dir.path()).unwrap();
    w.write("é".as_bytes().split_at(1).0).unwrap();
    assert!(w.finish().is_err(), "a cut character was accepted");
}

#[test]
fn staged_files_move_into_place_and_temporaries_go_away() {
    let dir = tempfile::tempdir().unwrap();
    let staged = stage(PasteContent::Text("x\n".into()), true, false, dir.path()).unwrap();
    let dest = dir.path().join("000/dataset_1.dat");
    assert_eq!(staged.persist(&dest).unwrap(), 2);
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "x\n");
    drop(stage(PasteContent::Text("y".into()), true, false, dir.path()).unwrap());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".paste-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}
