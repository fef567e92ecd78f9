//! Property: any edit, insertion, removal, reordering or truncation of a tenant's audit chain is
//! found, and so is a rewrite by someone without the tenant's key, whatever they recompute.

mod audit_support;

use audit_support::{acme, record};
use proptest::prelude::*;
use stackhand_core::audit::{AuditEvent, AuditHead, AuditKey, BreakKind, verify};

fn key() -> AuditKey {
    AuditKey::from_bytes([7; 32])
}

/// The attacker's own key: they can run stackhand, but do not hold the tenant's key.
fn attacker_key() -> AuditKey {
    AuditKey::from_bytes([66; 32])
}

/// A chain of `len` events sealed with `key`, and the head that anchors it.
fn chain(len: usize, key: &AuditKey) -> (Vec<AuditEvent>, Option<AuditHead>) {
    let mut events: Vec<AuditEvent> = Vec::new();
    for n in 0..len {
        let event = AuditEvent::seal(record(n), events.last(), key);
        events.push(event);
    }
    let head = events.last().map(|e| AuditHead::seal(e, key));
    (events, head)
}

/// Re-seal events `from..` with `key`, as an attacker recomputing the tail would.
fn reseal_from(events: &mut [AuditEvent], from: usize, key: &AuditKey) {
    for i in from..events.len() {
        let prev = if i == 0 {
            None
        } else {
            Some(events[i - 1].clone())
        };
        events[i] = AuditEvent::seal(events[i].record.clone(), prev.as_ref(), key);
    }
}

#[derive(Debug, Clone)]
enum Tamper {
    EditActor(usize, String),
    EditData(usize, i64),
    Remove(usize),
    Swap(usize, usize),
    InsertForged(usize),
    DuplicateOne(usize),
    ReSealOne(usize),
    RecomputeTail(usize),
    RecomputeTailAndHead(usize),
    Truncate(usize),
    TruncateAndForgeHead(usize),
    DropHead,
    WrongKey,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (any::<usize>(), "[a-z]{1,8}").prop_map(|(i, s)| Tamper::EditActor(i, s)),
        (any::<usize>(), any::<i64>()).prop_map(|(i, v)| Tamper::EditData(i, v)),
        any::<usize>().prop_map(Tamper::Remove),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Tamper::Swap(i, j)),
        any::<usize>().prop_map(Tamper::InsertForged),
        any::<usize>().prop_map(Tamper::DuplicateOne),
        any::<usize>().prop_map(Tamper::ReSealOne),
        any::<usize>().prop_map(Tamper::RecomputeTail),
        any::<usize>().prop_map(Tamper::RecomputeTailAndHead),
        any::<usize>().prop_map(Tamper::Truncate),
        any::<usize>().prop_map(Tamper::TruncateAndForgeHead),
        Just(Tamper::DropHead),
        Just(Tamper::WrongKey),
    ]
}

proptest! {
    #[test]
    fn intact_chains_verify(len in 0usize..40) {
        let (events, head) = chain(len, &key());
        let summary = verify(&acme(), &events, &key(), head.as_ref()).unwrap();
        prop_assert_eq!(summary.events, len as u64);
        prop_assert_eq!(summary.unanchored, 0);
    }

    #[test]
    fn tampering_is_detected(len in 2usize..40, how in tamper()) {
        let (mut events, mut head) = chain(len, &key());
        let original = events.clone();
        let mut verify_with = key();
        let mut expected_kind = None;
        match how {
            Tamper::EditActor(i, s) => {
                events[i % len].record.actor = Some(format!("{s}-forged"));
                expected_kind = Some(BreakKind::Edited);
            }
            Tamper::EditData(i, v) => {
                events[i % len].record.data = serde_json::json!({ "n": v, "forged": true });
                expected_kind = Some(BreakKind::Edited);
            }
            // Removing the last event is seen against the anchored head.
            Tamper::Remove(i) => {
                let i = i % len;
                events.remove(i);
                expected_kind = Some(if i == len - 1 { BreakKind::Truncated } else { BreakKind::Deleted });
            }
            Tamper::Swap(i, j) => {
                let (i, j) = (i % len, j % len);
                prop_assume!(i != j);
                events.swap(i, j);
                expected_kind = Some(BreakKind::Reordered);
            }
            Tamper::InsertForged(i) => {
                let i = i % len;
                let prev = if i == 0 { None } else { Some(&original[i - 1]) };
                events.insert(i, AuditEvent::seal(record(999), prev, &attacker_key()));
                expected_kind = Some(BreakKind::Inserted);
            }
            Tamper::DuplicateOne(i) => {
                let i = i % len;
                events.insert(i + 1, original[i].clone());
                expected_kind = Some(BreakKind::Inserted);
            }
            // Editing an event and recomputing its MAC needs the key.
            Tamper::ReSealOne(i) => {
                let i = i % len;
                events[i].record.actor = Some("mallory".into());
                let prev = if i == 0 { None } else { Some(&original[i - 1]) };
                events[i] = AuditEvent::seal(events[i].record.clone(), prev, &attacker_key());
                expected_kind = Some(BreakKind::Edited);
            }
            // The attack the unkeyed chain allowed: edit, then recompute everything after it.
            Tamper::RecomputeTail(i) => {
                let i = i % (len - 1);
                events[i].record.data = serde_json::json!({ "n": 0, "forged": true });
                reseal_from(&mut events, i, &attacker_key());
                expected_kind = Some(BreakKind::RecomputedTail);
            }
            Tamper::RecomputeTailAndHead(i) => {
                let i = i % len;
                events[i].record.data = serde_json::json!({ "n": 0, "forged": true });
                reseal_from(&mut events, i, &attacker_key());
                head = events.last().map(|e| AuditHead::seal(e, &attacker_key()));
            }
            Tamper::Truncate(n) => {
                events.truncate(n % len);
                expected_kind = Some(BreakKind::Truncated);
            }
            Tamper::TruncateAndForgeHead(n) => {
                events.truncate(1 + n % (len - 1));
                head = events.last().map(|e| AuditHead::seal(e, &attacker_key()));
                expected_kind = Some(BreakKind::HeadForged);
            }
            Tamper::DropHead => {
                head = None;
                expected_kind = Some(BreakKind::HeadMissing);
            }
            Tamper::WrongKey => {
                verify_with = attacker_key();
                expected_kind = Some(BreakKind::WrongKey);
            }
        }
        let broken = verify(&acme(), &events, &verify_with, head.as_ref());
        prop_assert!(broken.is_err(), "{:?} passed", events);
        let broken = broken.unwrap_err();
        if let Some(kind) = expected_kind {
            prop_assert_eq!(broken.kind, kind, "{}", broken);
        }
        let named = format!("seq {}", broken.seq);
        prop_assert!(broken.to_string().contains(&named), "{}", broken);
    }
}
