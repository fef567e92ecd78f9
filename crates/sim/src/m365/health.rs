//! Service health: what Microsoft reports for the tenant's services (vendor data, the same
//! for every simulated tenant): one Exchange Online incident under way, one advisory restored.

use serde_json::{Value, json};

/// `serviceHealth` overviews, one per service.
pub(crate) fn overviews() -> Vec<Value> {
    [
        ("Exchange", "Exchange Online", "serviceDegradation"),
        ("OrgLiveID", "Microsoft Entra", "serviceOperational"),
        ("Microsoft365Suite", "Microsoft 365 suite", "serviceOperational"),
        ("SharePoint", "SharePoint Online", "serviceOperational"),
        ("microsoftteams", "Microsoft Teams", "serviceOperational"),
    ]
    .into_iter()
    .map(|(id, service, status)| {
        json!({"@odata.type": "#microsoft.graph.serviceHealth", "id": id, "service": service, "status": status})
    })
    .collect()
}

/// `serviceHealthIssue`s, open and resolved.
pub(crate) fn issues() -> Vec<Value> {
    vec![
        json!({
            "@odata.type": "#microsoft.graph.serviceHealthIssue",
            "id": "EX912345",
            "title": "Some users may be unable to access their mailbox using Outlook on the web",
            "impactDescription": "Users may see an error when opening Outlook on the web; desktop clients are unaffected.",
            "classification": "incident",
            "origin": "microsoft",
            "status": "serviceDegradation",
            "service": "Exchange Online",
            "feature": "Outlook on the web",
            "featureGroup": "Management and Provisioning",
            "isResolved": false,
            "highImpact": null,
            "startDateTime": "2026-11-23T07:40:00Z",
            "endDateTime": null,
            "lastModifiedDateTime": "2026-11-23T11:05:00Z",
            "details": [],
            "posts": [{
                "createdDateTime": "2026-11-23T08:10:00Z",
                "postType": "regular",
                "description": {"contentType": "html", "content": "We're reviewing service telemetry to isolate the cause."}
            }]
        }),
        json!({
            "@odata.type": "#microsoft.graph.serviceHealthIssue",
            "id": "MO887766",
            "title": "Users were intermittently unable to sign in to Microsoft 365",
            "impactDescription": "Sign-in attempts intermittently failed with an authentication error.",
            "classification": "advisory",
            "origin": "microsoft",
            "status": "serviceRestored",
            "service": "Microsoft 365 suite",
            "feature": "Sign-in",
            "featureGroup": "Portal",
            "isResolved": true,
            "highImpact": null,
            "startDateTime": "2026-11-20T13:00:00Z",
            "endDateTime": "2026-11-20T15:30:00Z",
            "lastModifiedDateTime": "2026-11-20T16:00:00Z",
            "details": [],
            "posts": []
        }),
    ]
}
