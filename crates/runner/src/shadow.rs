//! The shadow record of a tenant, per action: how many tickets stackhand planned it for with
//! nothing executed (the trail's [`Previewed`](stackhand_core::audit::AuditKind::Previewed)
//! records), in shadow-mode passes over open tickets (keys `ticket-<id>…shadow.<n>`) and in
//! backtests replaying closed ones (`ticket-<id>…backtest.<n>`), counted apart (a one-off
//! `stackhand plan` counts in neither); how many of those tickets a technician has since
//! closed, and how often the technician did the same (the closed ticket's history label,
//! [`stackhand_triage::history::label`], names an intent whose workflow runs the action), and
//! whether the action is live (`live_actions`): the evidence `stackhand tenant promote` rests on.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use serde::Serialize;
use stackhand_core::audit::{AuditKind, AuditSink as _};
use stackhand_core::{HistoryQuery, Result, TenantId};
use stackhand_triage::history::label;

use crate::pipeline::{Pipeline, Preview};

/// One action's shadow record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionShadow {
    /// The action id (`identity.unlock`).
    pub action: String,
    /// Open tickets stackhand planned it for in shadow-mode passes, nothing executed.
    pub shadowed: usize,
    /// Closed tickets a backtest planned it for (replays of the history), nothing executed.
    pub backtested: usize,
    /// Of the tickets of both, those a technician has closed with notes that say what was
    /// done.
    pub closed: usize,
    /// Of those, tickets where the technician did the same (the label's workflow runs it).
    pub agreed: usize,
    /// `agreed / closed`, 0 when none is closed yet.
    pub agreement: f64,
    /// Whether it runs live (`live_actions`).
    pub live: bool,
}

/// A tenant's shadow record, per action of its workflows and any other action it planned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShadowRecord {
    /// The tenant.
    pub tenant: TenantId,
    /// Whether the tenant is in shadow mode.
    pub shadow: bool,
    /// The days of closed history the agreement was read from.
    pub days: u32,
    /// Per action, by id.
    pub actions: Vec<ActionShadow>,
}

/// The ticket run a preview's idempotency key belongs to (`ticket-42.shadow.0` and
/// `ticket-42.for-1.shadow.0` both to `ticket-42`), and whether a backtest made it, if it is a
/// shadow-mode or a backtest preview.
fn ticket_run(key: &str) -> Option<(&str, bool)> {
    let (rest, index) = key.rsplit_once('.')?;
    index.parse::<usize>().ok()?;
    let (run, kind) = rest.rsplit_once('.')?;
    let backtest = match kind {
        k if k == Preview::Shadow.key_segment() => false,
        k if k == Preview::Backtest.key_segment() => true,
        _ => return None,
    };
    let run = run.split_once(".for-").map_or(run, |(parent, _)| parent);
    run.starts_with("ticket-").then_some((run, backtest))
}

impl Pipeline {
    /// `tenant`'s shadow record, with the agreement read from tickets closed in the last
    /// `days` days.
    pub async fn shadow_record(&self, tenant: &TenantId, days: u32) -> Result<ShadowRecord> {
        let part = self.part(tenant)?;
        // Per action, its ticket runs, each marked when a backtest planned it.
        let mut planned: BTreeMap<String, BTreeSet<(String, bool)>> = BTreeMap::new();
        for workflow in part.workflows.all() {
            for step in &workflow.steps {
                planned.entry(step.action.clone()).or_default();
            }
        }
        for event in self.deployment().store().events(tenant).await? {
            let record = &event.record;
            if record.kind != AuditKind::Previewed {
                continue;
            }
            let (Some(key), Some(action)) = (&record.request, &record.action) else {
                continue;
            };
            if let Some((run, backtest)) = ticket_run(key.as_str()) {
                planned
                    .entry(action.to_string())
                    .or_default()
                    .insert((run.to_string(), backtest));
            }
        }
        let to = Utc::now();
        let history = self
            .deployment()
            .engine()
            .connectors(tenant)?
            .psa()?
            .history(&HistoryQuery {
                from: to - Duration::days(i64::from(days)),
                to,
            })
            .await?;
        let labels: BTreeMap<String, String> = history
            .iter()
            .filter_map(|closed| {
                Some((
                    format!("ticket-{}", closed.ticket.id),
                    label(closed)?.to_string(),
                ))
            })
            .collect();
        let actions = planned
            .into_iter()
            .map(|(action, runs)| {
                let backtested = runs.iter().filter(|(_, backtest)| *backtest).count();
                // A ticket both shadowed and backtested is one ticket to agree on.
                let tickets: BTreeSet<&String> = runs.iter().map(|(run, _)| run).collect();
                let closed: Vec<&String> = tickets.iter().filter_map(|r| labels.get(*r)).collect();
                let agreed = closed
                    .iter()
                    .filter(|intent| {
                        part.workflows
                            .for_intent(intent)
                            .is_some_and(|w| w.steps.iter().any(|s| s.action == action))
                    })
                    .count();
                ActionShadow {
                    live: !part.shadow || part.live_actions.contains(&action),
                    shadowed: runs.len() - backtested,
                    backtested,
                    closed: closed.len(),
                    agreed,
                    agreement: if closed.is_empty() {
                        0.0
                    } else {
                        agreed as f64 / closed.len() as f64
                    },
                    action,
                }
            })
            .collect();
        Ok(ShadowRecord {
            tenant: tenant.clone(),
            shadow: part.shadow,
            days,
            actions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ticket_run;

    #[test]
    fn preview_keys_name_their_ticket_run_and_source() {
        assert_eq!(ticket_run("ticket-42.shadow.0"), Some(("ticket-42", false)));
        assert_eq!(
            ticket_run("ticket-42.for-1.shadow.3"),
            Some(("ticket-42", false))
        );
        assert_eq!(
            ticket_run("ticket-42.backtest.1"),
            Some(("ticket-42", true))
        );
        assert_eq!(ticket_run("ticket-42.plan.0"), None, "a one-off look");
        assert_eq!(ticket_run("ticket-42.0"), None);
        assert_eq!(ticket_run("act-7.shadow.0"), None);
    }
}
