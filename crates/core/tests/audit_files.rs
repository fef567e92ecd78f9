//! Attacks on the audit files an attacker with write access to the audit directory (but not the
//! tenant's key) would make, each found by verifying the directory's chain against its head file.

mod audit_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use audit_support::{acme, record};
use stackhand_core::audit::{
    AuditEvent, AuditHead, AuditKey, AuditSink, BreakKind, ChainBreak, DerivedAuditKeys,
    JsonlAuditSink,
};

/// A directory holding acme's chain of `len` events and its head file, and the keys.
async fn written(len: usize) -> (tempfile::TempDir, Arc<DerivedAuditKeys>) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(DerivedAuditKeys::generate());
    let sink = JsonlAuditSink::open(dir.path(), keys.clone()).unwrap();
    for n in 0..len {
        sink.append(record(n)).await.unwrap();
    }
    (dir, keys)
}

fn log(dir: &Path) -> PathBuf {
    dir.join("acme.jsonl")
}

fn lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(log(dir))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(dir: &Path, lines: &[String]) {
    std::fs::write(log(dir), lines.join("\n") + "\n").unwrap();
}

/// Verify the directory as `stackhand audit verify` does, with a fresh sink.
async fn check(dir: &Path, keys: Arc<DerivedAuditKeys>) -> Result<u64, ChainBreak> {
    let sink = JsonlAuditSink::open_existing(dir, keys).unwrap();
    assert_eq!(sink.tenants().unwrap(), vec![acme()]);
    sink.verify_tenant(&acme())
        .await
        .unwrap()
        .map(|summary| summary.events)
}

/// Write a chain of `len` events, edit the log's lines with `edit`, and return the break found.
async fn break_after_editing(len: usize, edit: impl FnOnce(&mut Vec<String>)) -> ChainBreak {
    let (dir, keys) = written(len).await;
    let mut l = lines(dir.path());
    edit(&mut l);
    write_lines(dir.path(), &l);
    check(dir.path(), keys).await.unwrap_err()
}

fn parse(line: &str) -> AuditEvent {
    serde_json::from_str(line).unwrap()
}

#[tokio::test]
async fn an_intact_directory_verifies() {
    let (dir, keys) = written(6).await;
    assert_eq!(check(dir.path(), keys).await, Ok(6));
}

#[tokio::test]
async fn truncating_the_last_lines_is_detected_via_the_head() {
    for n in [1, 3, 6] {
        let broken = break_after_editing(6, |l| l.truncate(6 - n)).await;
        assert_eq!(
            (broken.seq, broken.kind),
            ((6 - n + 1) as u64, BreakKind::Truncated),
            "{broken}"
        );
    }
}

#[tokio::test]
async fn a_rewritten_and_recomputed_tail_is_detected_without_the_key() {
    // The attacker flips the decision in event 3 and recomputes every MAC after it with a key of
    // their own, exactly as the unkeyed chain let them recompute every hash...
    let theirs = AuditKey::from_bytes([1; 32]);
    let rewrite = |l: &mut Vec<String>| {
        let mut events: Vec<AuditEvent> = l.iter().map(|line| parse(line)).collect();
        events[2].record.data["effect"] = "allow".into();
        for i in 2..events.len() {
            let prev = events[i - 1].clone();
            events[i] = AuditEvent::seal(events[i].record.clone(), Some(&prev), &theirs);
        }
        *l = events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
    };
    let broken = break_after_editing(6, rewrite).await;
    assert_eq!(
        (broken.seq, broken.kind),
        (3, BreakKind::RecomputedTail),
        "{broken}"
    );

    // ...and rewrites the head file to match.
    let (dir, keys) = written(6).await;
    let mut l = lines(dir.path());
    rewrite(&mut l);
    write_lines(dir.path(), &l);
    let forged_head = AuditHead::seal(&parse(l.last().unwrap()), &theirs);
    std::fs::write(
        dir.path().join("acme.head"),
        serde_json::to_string(&forged_head).unwrap(),
    )
    .unwrap();
    let broken = check(dir.path(), keys).await.unwrap_err();
    assert_eq!(broken.kind, BreakKind::HeadForged, "{broken}");
}

#[tokio::test]
async fn a_deleted_log_is_detected_while_its_head_exists() {
    let (dir, keys) = written(4).await;
    std::fs::remove_file(log(dir.path())).unwrap();
    let broken = check(dir.path(), keys).await.unwrap_err();
    assert_eq!((broken.seq, broken.kind), (1, BreakKind::Truncated));
    assert!(broken.problem.contains("deleted"), "{broken}");
}

#[tokio::test]
async fn a_deleted_head_fails_closed() {
    let (dir, keys) = written(4).await;
    std::fs::remove_file(dir.path().join("acme.head")).unwrap();
    let broken = check(dir.path(), keys).await.unwrap_err();
    assert_eq!(broken.kind, BreakKind::HeadMissing);
    assert!(broken.problem.contains("restore the head"), "{broken}");
}

#[tokio::test]
async fn reordered_lines_are_detected() {
    let broken = break_after_editing(5, |l| l.swap(1, 3)).await;
    assert_eq!(
        (broken.seq, broken.kind),
        (4, BreakKind::Reordered),
        "{broken}"
    );
}

#[tokio::test]
async fn inserted_lines_are_detected() {
    // A copy of a genuine event...
    let broken = break_after_editing(5, |l| l.insert(3, l[2].clone())).await;
    assert_eq!(broken.kind, BreakKind::Inserted, "{broken}");

    // ...or one sealed with another key.
    let broken = break_after_editing(5, |l| {
        let forged = AuditEvent::seal(
            record(99),
            Some(&parse(&l[1])),
            &AuditKey::from_bytes([2; 32]),
        );
        l.insert(2, serde_json::to_string(&forged).unwrap());
    })
    .await;
    assert_eq!(
        (broken.seq, broken.kind),
        (3, BreakKind::Inserted),
        "{broken}"
    );
}

#[tokio::test]
async fn a_deleted_line_is_detected() {
    let broken = break_after_editing(5, |l| {
        l.remove(1);
    })
    .await;
    assert_eq!(
        (broken.seq, broken.kind),
        (2, BreakKind::Deleted),
        "{broken}"
    );
}

#[tokio::test]
async fn an_edited_line_is_detected() {
    let broken = break_after_editing(5, |l| {
        l[0] = l[0].replacen("\"effect\":\"deny\"", "\"effect\":\"allow\"", 1);
    })
    .await;
    assert_eq!(
        (broken.seq, broken.kind),
        (1, BreakKind::Edited),
        "{broken}"
    );
}

#[tokio::test]
async fn the_wrong_key_is_detected() {
    let (dir, _) = written(3).await;
    let broken = check(dir.path(), Arc::new(DerivedAuditKeys::generate()))
        .await
        .unwrap_err();
    assert_eq!(broken.kind, BreakKind::WrongKey, "{broken}");
}

#[test]
fn a_missing_directory_is_an_error_not_an_empty_trail() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = JsonlAuditSink::open_existing(&missing, DerivedAuditKeys::generate()).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!missing.exists());
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let err = JsonlAuditSink::open_existing(&file, DerivedAuditKeys::generate()).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}
