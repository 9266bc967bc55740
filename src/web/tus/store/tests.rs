use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::*;

fn store() -> (tempfile::TempDir, TusStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = TusStore::new(dir.path().join("tus"));
    (dir, store)
}

#[test]
fn appends_up_to_the_length_and_reports_the_offset() {
    let (_d, store) = store();
    let id = store
        .create(&Session::new(Some(7), 10, BTreeMap::new()))
        .expect("create");
    assert_eq!(store.open(&id).expect("open").1, 0);
    let mut a = store.appender(&id, 0, 10).expect("appender");
    a.write(b"hello").expect("write");
    assert_eq!(a.finish().expect("finish"), 5);
    let (session, offset) = store.open(&id).expect("open");
    assert_eq!((session.owner, session.length, offset), (Some(7), 10, 5));
    assert!(matches!(
        store.complete_file(&id),
        Err(TusError::Incomplete { offset: 5, .. })
    ));
    let mut a = store.appender(&id, 5, 10).expect("appender");
    assert!(matches!(a.write(b"world!"), Err(TusError::PastLength(10))));
    a.write(b"world").expect("write");
    a.finish().expect("finish");
    let (_, path) = store.complete_file(&id).expect("complete");
    assert_eq!(std::fs::read(path).expect("read"), b"helloworld");
    assert!(store.remove(&id));
    assert!(matches!(store.open(&id), Err(TusError::NotFound(_))));
}

#[test]
fn ids_that_are_not_session_ids_name_nothing() {
    let (_d, store) = store();
    for id in ["", "../etc/passwd", "ABCDEF0123456789ABCDEF0123456789", "x"] {
        assert!(matches!(store.open(id), Err(TusError::NotFound(_))), "{id}");
    }
}

#[test]
fn one_patch_at_a_time() {
    let (_d, store) = store();
    let id = store
        .create(&Session::new(None, 1, BTreeMap::new()))
        .expect("create");
    let held = store.hold(&id).expect("hold");
    assert!(matches!(store.hold(&id), Err(TusError::Busy(_))));
    drop(held);
    store.hold(&id).expect("hold again");
}

#[test]
fn the_sweep_removes_sessions_untouched_for_a_day() {
    let (_d, store) = store();
    let id = store
        .create(&Session::new(None, 3, BTreeMap::new()))
        .expect("create");
    assert_eq!(store.sweep(SystemTime::now()), 0);
    let later = SystemTime::now() + EXPIRY + Duration::from_secs(60);
    assert_eq!(store.sweep(later), 1);
    assert!(matches!(store.open(&id), Err(TusError::NotFound(_))));
}

#[test]
fn metadata_pairs_are_base64() {
    let m = parse_metadata("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential")
        .expect("parse");
    assert_eq!(m["filename"], "world_domination_plan.pdf");
    assert_eq!(m["is_confidential"], "");
    assert!(parse_metadata("").expect("empty").is_empty());
    assert!(matches!(
        parse_metadata("name !!!"),
        Err(TusError::BadHeader(_))
    ));
    assert!(matches!(
        parse_metadata("name YQ== YQ=="),
        Err(TusError::BadHeader(_))
    ));
}
