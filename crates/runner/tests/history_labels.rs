//! Labels learned from closed tickets come from what the technicians wrote they did; on the
//! simulator's history, whose true categories are known, they must agree with them.

use chrono::{TimeZone, Utc};
use stackhand_core::{HistoricalTicket, Note, NoteVisibility, TenantId};
use stackhand_sim::history::{self, Category, HistoryGenerator, Organisation};
use stackhand_sim::world::World;
use stackhand_triage::Intent;
use stackhand_triage::history::{label, learn};
use stackhand_triage::text_ticket;

fn intent_of(category: Category) -> Intent {
    match category {
        Category::PasswordReset => Intent::PasswordReset,
        Category::AccountLockout => Intent::AccountUnlock,
        Category::MfaReset => Intent::MfaReset,
        Category::MailboxAccess => Intent::MailboxAccess,
        Category::GroupAccess => Intent::GroupAccess,
        Category::Licence => Intent::LicenseChange,
        Category::NewStarter => Intent::Onboarding,
        Category::Leaver => Intent::Offboarding,
        Category::Other(_) => Intent::Other,
    }
}

/// The generator's ticket as a PSA answers it: the ticket, its notes, its resolution.
fn closed(tenant: &TenantId, at: usize, t: &history::HistoricalTicket) -> HistoricalTicket {
    HistoricalTicket {
        ticket: text_ticket(tenant, &at.to_string(), &t.subject, &t.body, None),
        notes: t
            .notes
            .iter()
            .enumerate()
            .map(|(n, note)| Note {
                id: n.to_string(),
                text: note.text.clone(),
                visibility: match note.visibility {
                    history::NoteVisibility::Internal => NoteVisibility::Internal,
                    history::NoteVisibility::Customer => NoteVisibility::Customer,
                },
                resolution: false,
                author: None,
                created: Some(note.at),
            })
            .collect(),
        resolution: Some(t.resolution.clone()),
        closed_at: Some(t.closed),
    }
}

#[test]
fn labels_from_the_technicians_notes_agree_with_the_true_categories() {
    let world = World::builtin();
    let tenant = TenantId::new("contoso-law").unwrap();
    let org = Organisation::from_world(world.tenant("contoso-law").unwrap());
    let anchor = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
    let mut generator = HistoryGenerator::new(42, org, anchor, 4);
    let tickets: Vec<history::HistoricalTicket> =
        (0..600).map(|_| generator.next_ticket()).collect();
    let mut wrong = Vec::new();
    for (at, t) in tickets.iter().enumerate() {
        let got = label(&closed(&tenant, at, t)).expect("every ticket has notes");
        if got != intent_of(t.category) {
            wrong.push(format!("{} -> {got}: {:?}", t.category.label(), t.notes));
        }
    }
    let agreement = 1.0 - wrong.len() as f64 / tickets.len() as f64;
    assert!(
        agreement >= 0.9,
        "labels agree on {:.1}%; disagreements:\n{}",
        agreement * 100.0,
        wrong.join("\n")
    );
    let history: Vec<HistoricalTicket> = tickets
        .iter()
        .enumerate()
        .map(|(at, t)| closed(&tenant, at, t))
        .collect();
    let (examples, learned) = learn(&history);
    assert_eq!((examples.len(), learned.labelled), (600, 600));
    assert!(
        learned
            .approvers
            .values()
            .flat_map(|by| by.keys())
            .all(|name| name.split(' ').count() >= 2),
        "approvers are full names: {:?}",
        learned.approvers
    );
}
