//! Service health: what Microsoft reports for the tenant's services. The issues are the world
//! tenant's `service_issues`; a service with an open issue reports that issue's status in its
//! overview, the others `serviceOperational`.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::world::{M365_SERVICES, ServiceIssue, Tenant};

/// Graph's service id of each service the simulator reports.
fn service_id(service: &str) -> &'static str {
    match service {
        "Exchange Online" => "Exchange",
        "Microsoft Entra" => "OrgLiveID",
        "SharePoint Online" => "SharePoint",
        "Microsoft Teams" => "microsoftteams",
        _ => "Microsoft365Suite",
    }
}

/// `serviceHealth` overviews, one per service.
pub(crate) fn overviews(tenant: &Tenant) -> Vec<Value> {
    M365_SERVICES
        .iter()
        .map(|service| {
            let status = tenant
                .service_issues
                .iter()
                .find(|i| i.service == *service && i.resolved_hours_ago.is_none())
                .map_or("serviceOperational", |i| i.status.as_str());
            json!({
                "@odata.type": "#microsoft.graph.serviceHealth",
                "id": service_id(service),
                "service": service,
                "status": status,
            })
        })
        .collect()
}

/// The tenant's `serviceHealthIssue`s, open and resolved, timed from `now`.
pub(crate) fn issues(tenant: &Tenant, now: DateTime<Utc>) -> Vec<Value> {
    tenant
        .service_issues
        .iter()
        .map(|issue| issue_json(issue, now))
        .collect()
}

fn issue_json(issue: &ServiceIssue, now: DateTime<Utc>) -> Value {
    let at = |hours: i64| (now - Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let end = issue.resolved_hours_ago.map(at);
    let modified = end.clone().unwrap_or_else(|| at(0));
    json!({
        "@odata.type": "#microsoft.graph.serviceHealthIssue",
        "id": issue.id,
        "title": issue.title,
        "impactDescription": issue.impact,
        "classification": issue.classification.as_str(),
        "origin": "microsoft",
        "status": issue.status,
        "service": issue.service,
        "feature": issue.feature,
        "featureGroup": issue.feature_group,
        "isResolved": end.is_some(),
        "highImpact": null,
        "startDateTime": at(issue.hours_ago),
        "endDateTime": end,
        "lastModifiedDateTime": modified,
        "details": [],
        "posts": [],
    })
}
