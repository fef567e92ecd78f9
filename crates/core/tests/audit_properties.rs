//! Property: any edit, insertion, removal or reordering inside a tenant's audit chain is found.

use proptest::prelude::*;
use stackhand_core::TenantId;
use stackhand_core::audit::{AuditEvent, AuditKind, AuditRecord, verify};

fn record(n: usize) -> AuditRecord {
    AuditRecord {
        tenant: TenantId::new("acme").unwrap(),
        at: chrono::DateTime::from_timestamp(1_700_000_000 + n as i64, 0).unwrap(),
        kind: AuditKind::Decided,
        request: None,
        action: None,
        actor: Some(format!("actor-{n}")),
        data: serde_json::json!({ "n": n }),
    }
}

fn chain(len: usize) -> Vec<AuditEvent> {
    let mut events: Vec<AuditEvent> = Vec::new();
    for n in 0..len {
        let event = AuditEvent::seal(record(n), events.last());
        events.push(event);
    }
    events
}

#[derive(Debug, Clone)]
enum Tamper {
    EditActor(usize, String),
    EditData(usize, i64),
    Remove(usize),
    Swap(usize, usize),
    InsertForged(usize),
    ReHashOne(usize),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (any::<usize>(), "[a-z]{1,8}").prop_map(|(i, s)| Tamper::EditActor(i, s)),
        (any::<usize>(), any::<i64>()).prop_map(|(i, v)| Tamper::EditData(i, v)),
        any::<usize>().prop_map(Tamper::Remove),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Tamper::Swap(i, j)),
        any::<usize>().prop_map(Tamper::InsertForged),
        any::<usize>().prop_map(Tamper::ReHashOne),
    ]
}

proptest! {
    #[test]
    fn intact_chains_verify(len in 0usize..40) {
        prop_assert_eq!(verify(&chain(len)).unwrap().events, len as u64);
    }

    #[test]
    fn tampering_is_detected(len in 2usize..40, how in tamper()) {
        let mut events = chain(len);
        let original = events.clone();
        match how {
            Tamper::EditActor(i, s) => {
                let i = i % len;
                events[i].record.actor = Some(format!("{s}-forged"));
            }
            Tamper::EditData(i, v) => {
                let i = i % len;
                events[i].record.data = serde_json::json!({ "n": v, "forged": true });
            }
            // Removing the last event is only visible against an anchored head; see verify's docs.
            Tamper::Remove(i) => {
                events.remove(i % (len - 1));
            }
            Tamper::Swap(i, j) => {
                let (i, j) = (i % len, j % len);
                prop_assume!(i != j);
                events.swap(i, j);
            }
            Tamper::InsertForged(i) => {
                let i = i % len;
                let forged = AuditEvent::seal(record(999), if i == 0 { None } else { Some(&original[i - 1]) });
                events.insert(i, forged);
            }
            // An attacker who edits an event and recomputes its own hash still breaks the next link.
            Tamper::ReHashOne(i) => {
                let i = i % (len - 1);
                events[i].record.actor = Some("mallory".into());
                events[i].hash = events[i].computed_hash();
            }
        }
        prop_assert!(verify(&events).is_err());
    }
}
