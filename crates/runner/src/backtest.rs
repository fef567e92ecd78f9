//! Backtest: a tenant's closed tickets replayed through triage and planning, nothing executed
//! and nothing written to any vendor, to show what stackhand would have done before it does
//! anything.
//!
//! Each closed ticket of the window goes through the pipeline in shadow mode
//! ([`Pipeline::plan`]): triage, requester checks, the workflow's steps planned and decided
//! by the policy. It would have been resolved **autonomously** (every step allowed), **with an
//! approval** (a step waits for an approver), or **routed** to a person (not routine, unsure,
//! a check failed, a step denied or not plannable). What the technician actually did comes
//! from the ticket's notes ([`stackhand_triage::history::label`]); stackhand *agrees* when it
//! would have acted on that intent (or routed a ticket that was not routine). Time saved counts
//! only tickets it would have resolved and agreed on, at the tenant's minutes per ticket.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use stackhand_core::{Error, HistoryQuery, Result, TenantId};
use stackhand_triage::Intent;
use stackhand_triage::history::label;

use crate::pipeline::{Pipeline, Resolution, ShadowEffect, TicketOutcome};

/// The default technician minutes a routine ticket takes.
pub const DEFAULT_MINUTES: u32 = 12;

/// Disagreement examples kept per intent.
const EXAMPLES: usize = 3;

/// What a backtest replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacktestOptions {
    /// Tickets closed in the last this many days.
    pub days: u32,
    /// Technician minutes a ticket stackhand resolves would have taken.
    pub minutes_per_ticket: u32,
}

impl Default for BacktestOptions {
    fn default() -> Self {
        Self {
            days: 90,
            minutes_per_ticket: DEFAULT_MINUTES,
        }
    }
}

/// How a replayed ticket would have ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WouldHave {
    /// Resolved with every step allowed.
    Resolved,
    /// Resolved once an approver approved.
    ResolvedWithApproval,
    /// Handed to a person.
    Routed,
}

/// One ticket where stackhand and the technician differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    /// The PSA ticket id.
    pub ticket: String,
    /// Its subject.
    pub subject: String,
    /// What the technician's notes say they did.
    pub technician: Intent,
    /// What stackhand would have done: an intent, or why it would have routed.
    pub stackhand: String,
}

/// Per intent the technicians handled: how often stackhand would have agreed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentAgreement {
    /// The intent, as the technician's notes say.
    pub intent: Intent,
    /// Tickets the technicians handled as this intent.
    pub tickets: usize,
    /// Of them, those stackhand would have acted on as this intent (routed, for `other`).
    pub agreed: usize,
    /// `agreed / tickets`.
    pub agreement: f64,
    /// Of them, those stackhand would have resolved (with or without an approval).
    pub would_resolve: usize,
    /// A few tickets where it would not have agreed.
    pub examples: Vec<Disagreement>,
}

/// A reason stackhand would have routed, with how many tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingReason {
    /// The reason, in a few words.
    pub reason: String,
    /// Tickets.
    pub tickets: usize,
}

/// What a backtest found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    /// The tenant.
    pub tenant: TenantId,
    /// Closed from.
    pub from: DateTime<Utc>,
    /// Closed before.
    pub to: DateTime<Utc>,
    /// Closed tickets in the window.
    pub tickets: usize,
    /// Would have been resolved with every step allowed.
    pub resolved: usize,
    /// Would have been resolved once approved.
    pub resolved_with_approval: usize,
    /// Would have been handed to a person.
    pub routed: usize,
    /// Tickets without notes or resolution: what the technician did is unknown.
    pub unlabelled: usize,
    /// Share of labelled tickets where stackhand agrees with the technician.
    pub agreement: f64,
    /// Minutes per ticket used for the time saved.
    pub minutes_per_ticket: u32,
    /// Tickets it would have resolved and agreed on.
    pub saved_tickets: usize,
    /// `saved_tickets x minutes_per_ticket`.
    pub minutes_saved: u64,
    /// Per intent, in vocabulary order (only intents the technicians handled).
    pub intents: Vec<IntentAgreement>,
    /// Why it would have routed, most frequent first.
    pub routing_reasons: Vec<RoutingReason>,
}

/// How one outcome would have ended, and why when routed.
pub fn would_have(outcome: &TicketOutcome) -> (WouldHave, Option<String>) {
    if outcome.resolution != Resolution::Shadowed {
        return (WouldHave::Routed, Some(reason_kind(&outcome.why)));
    }
    let mut approval = false;
    for step in &outcome.shadow {
        match &step.effect {
            Some(ShadowEffect::Allow) => {}
            Some(ShadowEffect::Approve) => approval = true,
            Some(ShadowEffect::Deny { rule }) => {
                return (
                    WouldHave::Routed,
                    Some(format!("{} denied ({rule})", step.action)),
                );
            }
            None => {
                return (
                    WouldHave::Routed,
                    Some(format!("{} cannot be planned", step.action)),
                );
            }
        }
    }
    if approval {
        (WouldHave::ResolvedWithApproval, None)
    } else {
        (WouldHave::Resolved, None)
    }
}

/// A routing reason as a kind, so tickets routed for the same reason count together.
fn reason_kind(why: &str) -> String {
    const KINDS: &[(&str, &str)] = &[
        ("not a routine request", "not routine"),
        ("is not sure", "triage unsure (below the threshold)"),
        ("no workflow handles", "no workflow for the intent"),
        (
            "who the ticket is for is unclear",
            "who it is for is unclear",
        ),
        (
            "may act only on their own account",
            "asks for someone else's account",
        ),
        ("not an authorised contact", "not an authorised contact"),
        ("does not recognise", "intent not recognised"),
        (
            "not a user of this tenant",
            "requester not in the directory",
        ),
        ("no enabled user", "requester not in the directory"),
    ];
    KINDS
        .iter()
        .find(|(says, _)| why.contains(says))
        .map(|(_, kind)| kind.to_string())
        .unwrap_or_else(|| {
            // Unknown reasons keep their first clause, without ticket-specific detail.
            why.split([':', '(', ';'])
                .next()
                .unwrap_or(why)
                .trim()
                .chars()
                .take(80)
                .collect()
        })
}

impl Pipeline {
    /// Replay `tenant`'s tickets closed in the last `options.days` days through triage and
    /// planning, nothing executed and nothing written to a vendor (plans and decisions are
    /// audited, as in shadow mode).
    pub async fn backtest(
        &self,
        tenant: &TenantId,
        options: &BacktestOptions,
    ) -> Result<BacktestReport> {
        if options.days == 0 {
            return Err(Error::invalid(
                "a backtest needs a window of at least one day",
            ));
        }
        let to = Utc::now();
        let from = to - Duration::days(i64::from(options.days));
        let history = self
            .deployment()
            .engine()
            .connectors(tenant)?
            .psa()?
            .history(&HistoryQuery { from, to })
            .await?;
        let mut report = BacktestReport {
            tenant: tenant.clone(),
            from,
            to,
            tickets: history.len(),
            resolved: 0,
            resolved_with_approval: 0,
            routed: 0,
            unlabelled: 0,
            agreement: 0.0,
            minutes_per_ticket: options.minutes_per_ticket,
            saved_tickets: 0,
            minutes_saved: 0,
            intents: Vec::new(),
            routing_reasons: Vec::new(),
        };
        let mut intents: BTreeMap<Intent, IntentAgreement> = BTreeMap::new();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let (mut labelled, mut agreed_total) = (0, 0);
        for closed in &history {
            let outcome = self
                .preview(tenant, &closed.ticket, crate::pipeline::Preview::Backtest)
                .await?;
            let (ended, reason) = would_have(&outcome);
            match ended {
                WouldHave::Resolved => report.resolved += 1,
                WouldHave::ResolvedWithApproval => report.resolved_with_approval += 1,
                WouldHave::Routed => report.routed += 1,
            }
            if let Some(reason) = &reason {
                *reasons.entry(reason.clone()).or_default() += 1;
            }
            let Some(technician) = label(closed) else {
                report.unlabelled += 1;
                continue;
            };
            labelled += 1;
            let acted = (ended != WouldHave::Routed)
                .then(|| outcome.triage.intent.as_deref()?.parse::<Intent>().ok())
                .flatten();
            let agreed = match technician {
                Intent::Other => ended == WouldHave::Routed,
                routine => acted == Some(routine),
            };
            let entry = intents
                .entry(technician)
                .or_insert_with(|| IntentAgreement {
                    intent: technician,
                    tickets: 0,
                    agreed: 0,
                    agreement: 0.0,
                    would_resolve: 0,
                    examples: Vec::new(),
                });
            entry.tickets += 1;
            if ended != WouldHave::Routed {
                entry.would_resolve += 1;
            }
            if agreed {
                entry.agreed += 1;
                agreed_total += 1;
                if ended != WouldHave::Routed {
                    report.saved_tickets += 1;
                }
            } else if entry.examples.len() < EXAMPLES {
                entry.examples.push(Disagreement {
                    ticket: closed.ticket.id.clone(),
                    subject: closed.ticket.subject.clone(),
                    technician,
                    stackhand: match (ended, &outcome.triage.intent) {
                        (WouldHave::Routed, _) => {
                            format!("route to a person: {}", reason.clone().unwrap_or_default())
                        }
                        (_, Some(intent)) => format!("{intent} ({})", outcome.why),
                        (_, None) => outcome.why.clone(),
                    },
                });
            }
        }
        for entry in intents.values_mut() {
            entry.agreement = entry.agreed as f64 / entry.tickets as f64;
        }
        report.intents = intents.into_values().collect();
        report.agreement = if labelled == 0 {
            0.0
        } else {
            agreed_total as f64 / labelled as f64
        };
        report.minutes_saved = report.saved_tickets as u64 * u64::from(options.minutes_per_ticket);
        let mut reasons: Vec<RoutingReason> = reasons
            .into_iter()
            .map(|(reason, tickets)| RoutingReason { reason, tickets })
            .collect();
        reasons.sort_by(|a, b| b.tickets.cmp(&a.tickets).then(a.reason.cmp(&b.reason)));
        report.routing_reasons = reasons;
        Ok(report)
    }
}

/// HTML-escaped text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart in SVG: one labelled bar per row, its value written beside it.
fn bars(rows: &[(String, f64, String)], max: f64, colour: &str) -> String {
    let height = 26 * rows.len().max(1) + 4;
    let mut svg = format!(
        "<svg viewBox=\"0 0 640 {height}\" width=\"640\" height=\"{height}\" role=\"img\">"
    );
    for (at, (label, value, shown)) in rows.iter().enumerate() {
        let y = 26 * at + 4;
        let width = if max > 0.0 { 360.0 * value / max } else { 0.0 };
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>\
             <rect x=\"220\" y=\"{y}\" width=\"{width:.1}\" height=\"18\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"13\">{}</text>",
            y + 14,
            escape(label),
            226.0 + width,
            y + 14,
            escape(shown)
        ));
    }
    svg.push_str("</svg>");
    svg
}

impl BacktestReport {
    /// The report as one self-contained HTML page: no network, no external assets; the figures
    /// as charts, and the report itself as JSON in a `<script type="application/json">`.
    pub fn to_html(&self) -> String {
        let pct = |x: f64| format!("{:.0}%", x * 100.0);
        let hours = self.minutes_saved as f64 / 60.0;
        let split = [
            ("resolved", self.resolved, "#2e7d32"),
            (
                "resolved_with_approval",
                self.resolved_with_approval,
                "#f9a825",
            ),
            ("routed", self.routed, "#9e9e9e"),
        ];
        let mut stacked =
            String::from("<svg viewBox=\"0 0 640 40\" width=\"640\" height=\"40\" role=\"img\">");
        let mut x = 0.0;
        for (name, n, colour) in split {
            let width = if self.tickets > 0 {
                640.0 * n as f64 / self.tickets as f64
            } else {
                0.0
            };
            stacked.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"0\" width=\"{width:.1}\" height=\"40\" fill=\"{colour}\">\
                 <title>{name}: {n}</title></rect>"
            ));
            x += width;
        }
        stacked.push_str("</svg>");
        let agreement = bars(
            &self
                .intents
                .iter()
                .map(|i| {
                    (
                        i.intent.to_string(),
                        i.agreement,
                        format!("{} ({} of {})", pct(i.agreement), i.agreed, i.tickets),
                    )
                })
                .collect::<Vec<_>>(),
            1.0,
            "#1565c0",
        );
        let top = self.routing_reasons.iter().take(8);
        let most = self.routing_reasons.first().map_or(0, |r| r.tickets) as f64;
        let reasons = bars(
            &top.map(|r| (r.reason.clone(), r.tickets as f64, r.tickets.to_string()))
                .collect::<Vec<_>>(),
            most,
            "#6d4c41",
        );
        let mut examples = String::new();
        for intent in &self.intents {
            for d in &intent.examples {
                examples.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&d.ticket),
                    escape(&d.subject),
                    d.technician,
                    escape(&d.stackhand)
                ));
            }
        }
        let json = serde_json::to_string(self)
            .expect("a report serialises")
            .replace("</", "<\\/");
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>stackhand backtest: {tenant}</title><style>\
             body{{font-family:system-ui,sans-serif;margin:2rem;max-width:760px;color:#222}}\
             .figures{{display:flex;gap:2rem;margin:1rem 0}}.figure b{{display:block;font-size:2rem}}\
             table{{border-collapse:collapse;font-size:13px}}td,th{{border-bottom:1px solid #ddd;\
             padding:4px 8px;text-align:left;vertical-align:top}}</style></head><body>\
             <h1>What stackhand would have done for {tenant}</h1>\
             <p>{tickets} tickets closed from {from} to {to}, replayed through triage and the \
             policy with nothing executed.</p>\
             <div class=\"figures\">\
             <div class=\"figure\"><b data-figure=\"hours_saved\">{hours:.1}</b>technician hours \
             saved ({saved} tickets x {minutes} min)</div>\
             <div class=\"figure\"><b data-figure=\"agreement\">{agreement_pct}</b>agreement with \
             the technicians</div>\
             <div class=\"figure\"><b data-figure=\"tickets\">{tickets}</b>tickets</div></div>\
             <h2>How each ticket would have ended</h2>{stacked}\
             <p><span style=\"color:#2e7d32\">&#9632;</span> resolved \
             <b data-figure=\"resolved\">{resolved}</b> &nbsp; \
             <span style=\"color:#f9a825\">&#9632;</span> resolved with an approval \
             <b data-figure=\"resolved_with_approval\">{with_approval}</b> &nbsp; \
             <span style=\"color:#9e9e9e\">&#9632;</span> routed to a person \
             <b data-figure=\"routed\">{routed}</b></p>\
             <h2>Agreement with the technicians, per intent</h2>{agreement}\
             <h2>Why it would have routed</h2>{reasons}\
             <h2>Where it disagrees</h2><table><tr><th>ticket</th><th>subject</th>\
             <th>technician</th><th>stackhand</th></tr>{examples}</table>\
             <script type=\"application/json\" id=\"backtest\">{json}</script></body></html>",
            tenant = escape(self.tenant.as_str()),
            tickets = self.tickets,
            from = self.from.format("%Y-%m-%d"),
            to = self.to.format("%Y-%m-%d"),
            saved = self.saved_tickets,
            minutes = self.minutes_per_ticket,
            agreement_pct = pct(self.agreement),
            resolved = self.resolved,
            with_approval = self.resolved_with_approval,
            routed = self.routed,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_reasons_count_together_by_kind() {
        assert_eq!(
            reason_kind(
                "stackhand does not recognise what the ticket asks for (the base model says this \
                 is not a routine request (other at 0.93))"
            ),
            "not routine"
        );
        assert_eq!(
            reason_kind("the ticket asks to act on a@x, and b@x may act only on their own account"),
            "asks for someone else's account"
        );
        assert_eq!(reason_kind("something new: with detail"), "something new");
    }
}
