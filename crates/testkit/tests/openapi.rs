//! OpenAPI validation against the bundled vendor documents, with requests shaped as the
//! vendor notes show them.

use serde_json::{Value, json};
use stackhand_testkit::openapi::{
    ObservedRequest, Spec, Violation, ViolationKind, assert_all_valid,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn spec(name: &str) -> Spec {
    Spec::load(name).expect("bundled spec loads")
}

fn post(path: &str, body: Value) -> ObservedRequest {
    ObservedRequest::new("POST", path).with_json(&body)
}

#[track_caller]
fn assert_violation(result: Result<(), Violation>, kind: ViolationKind, mentions: &str) {
    let violation = result.expect_err("the request should be refused");
    assert_eq!(violation.kind, kind, "{violation}");
    assert!(
        violation.to_string().contains(mentions),
        "expected the violation to mention {mentions:?}: {violation}"
    );
}

const JANE: &str = "/v1.0/users/jane@acme.example";
const SKU: &str = "c7df2760-2c81-4ef7-b578-5b5392b571df";

#[test]
fn graph_password_reset_patch_validates() {
    let graph = spec("microsoft-graph.yaml");
    let reset = ObservedRequest::new("PATCH", JANE).with_json(&json!({
        "passwordProfile": {
            "forceChangePasswordNextSignIn": true,
            "password": "Temp-Passw0rd!"
        }
    }));
    graph.validate_request(&reset).unwrap();
    let block = ObservedRequest::new("PATCH", JANE).with_json(&json!({"accountEnabled": false}));
    graph.validate_request(&block).unwrap();
}

#[test]
fn graph_patch_with_wrong_types_is_refused() {
    let graph = spec("microsoft-graph.yaml");
    let wrong = ObservedRequest::new("PATCH", JANE).with_json(&json!({
        "passwordProfile": {"forceChangePasswordNextSignIn": "yes"}
    }));
    assert_violation(
        graph.validate_request(&wrong),
        ViolationKind::InvalidBody,
        "/passwordProfile/forceChangePasswordNextSignIn",
    );
    // A PATCH needs a body.
    assert_violation(
        graph.validate_request(&ObservedRequest::new("PATCH", JANE)),
        ViolationKind::MissingBody,
        "requires a body",
    );
}

#[test]
fn graph_assign_license_needs_both_lists_of_the_right_shape() {
    let graph = spec("microsoft-graph.yaml");
    let path = format!("{JANE}/assignLicense");
    let assign = post(
        &path,
        json!({"addLicenses": [{"skuId": SKU, "disabledPlans": []}], "removeLicenses": []}),
    );
    graph.validate_request(&assign).unwrap();
    let remove = post(&path, json!({"addLicenses": [], "removeLicenses": [SKU]}));
    graph.validate_request(&remove).unwrap();

    assert_violation(
        graph.validate_request(&post(&path, json!({"addLicenses": [{"skuId": SKU}]}))),
        ViolationKind::InvalidBody,
        "removeLicenses",
    );
    assert_violation(
        graph.validate_request(&post(
            &path,
            json!({"addLicenses": [{"skuId": 42}], "removeLicenses": []}),
        )),
        ViolationKind::InvalidBody,
        "/addLicenses/0/skuId",
    );
    assert_violation(
        graph.validate_request(&post(
            &path,
            json!({"addLicenses": [], "removeLicenses": ["not-a-guid"]}),
        )),
        ViolationKind::InvalidBody,
        "/removeLicenses/0",
    );
}

#[test]
fn graph_group_membership_ref_paths() {
    let graph = spec("microsoft-graph.yaml");
    let add = post(
        "/v1.0/groups/02bd9fd6/members/$ref",
        json!({"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/48d31887"}),
    );
    graph.validate_request(&add).unwrap();
    assert_violation(
        graph.validate_request(&post("/v1.0/groups/02bd9fd6/members/$ref", json!({}))),
        ViolationKind::InvalidBody,
        "@odata.id",
    );
    let remove = ObservedRequest::new("DELETE", "/v1.0/groups/02bd9fd6/members/48d31887/$ref");
    graph.validate_request(&remove).unwrap();
    // Percent-encoded `$` is the same path.
    let encoded = ObservedRequest::new("DELETE", "/v1.0/groups/02bd9fd6/members/48d31887/%24ref");
    graph.validate_request(&encoded).unwrap();
}

#[test]
fn unknown_paths_and_methods_are_refused() {
    let graph = spec("microsoft-graph.yaml");
    assert_violation(
        graph.validate_request(&ObservedRequest::new("GET", "/v1.0/me/drive")),
        ViolationKind::UnknownPath,
        "no path of microsoft-graph.yaml matches",
    );
    assert_violation(
        graph.validate_request(&ObservedRequest::new("PUT", JANE)),
        ViolationKind::MethodNotAllowed,
        "GET, DELETE, PATCH",
    );
    // The beta endpoint is not the v1.0 document.
    assert_violation(
        graph.validate_request(&ObservedRequest::new(
            "GET",
            "/beta/users/jane@acme.example",
        )),
        ViolationKind::UnknownPath,
        "/beta/users",
    );
}

#[test]
fn okta_lifecycle_calls() {
    let okta = spec("okta.yaml");
    let unlock = ObservedRequest::new(
        "POST",
        "/api/v1/users/00ub0oNGTSWTBKOLGLNR/lifecycle/unlock",
    );
    okta.validate_request(&unlock).unwrap();
    let with_body = post(
        "/api/v1/users/00ub0oNGTSWTBKOLGLNR/lifecycle/unlock",
        json!({"force": true}),
    );
    assert_violation(
        okta.validate_request(&with_body),
        ViolationKind::UnexpectedBody,
        "takes no body",
    );

    let reset = "/api/v1/users/00ub0oNGTSWTBKOLGLNR/lifecycle/reset_password";
    okta.validate_request(&ObservedRequest::new(
        "POST",
        &format!("{reset}?sendEmail=false"),
    ))
    .unwrap();
    assert_violation(
        okta.validate_request(&ObservedRequest::new("POST", reset)),
        ViolationKind::MissingParameter,
        "query parameter sendEmail",
    );
}

#[test]
fn parameter_values_fit_their_types() {
    let cw = spec("connectwise-manage.json");
    let note = |id: &str| {
        post(
            &format!("/v4_6_release/apis/3.0/service/tickets/{id}/notes"),
            json!({"text": "x", "internalAnalysisFlag": true}),
        )
    };
    cw.validate_request(&note("123")).unwrap();
    // The ticket id is an integer.
    assert_violation(
        cw.validate_request(&note("T-123")),
        ViolationKind::InvalidParameter,
        "path parameter parentId: \"T-123\" is not of type integer",
    );
    let okta = spec("okta.yaml");
    let reset = "/api/v1/users/00ub0oNGTSWTBKOLGLNR/lifecycle/reset_password";
    assert_violation(
        okta.validate_request(&ObservedRequest::new(
            "POST",
            &format!("{reset}?sendEmail=no"),
        )),
        ViolationKind::InvalidParameter,
        "query parameter sendEmail: \"no\" is not of type boolean",
    );
}

#[test]
fn connectwise_ticket_note() {
    let cw = spec("connectwise-manage.json").with_prefix("/v4_6_release/apis/3.0");
    let path = "/v4_6_release/apis/3.0/service/tickets/123/notes";
    let note = post(
        path,
        json!({"text": "Password reset; user informed.", "internalAnalysisFlag": true}),
    )
    .with_header("clientId", "3f8c8b5e-0000-4000-8000-000000000000");
    cw.validate_request(&note).unwrap();
    // Without the prefix the spec's own default base (`/v4_6_release/apis/3.0`) applies too.
    spec("connectwise-manage.json")
        .validate_request(&note)
        .unwrap();
    assert_violation(
        cw.validate_request(&post(
            path,
            json!({"text": 42, "internalAnalysisFlag": "yes"}),
        )),
        ViolationKind::InvalidBody,
        "/internalAnalysisFlag",
    );
    // `notes` only answers GET and POST.
    assert_violation(
        cw.validate_request(&ObservedRequest::new("DELETE", path)),
        ViolationKind::MethodNotAllowed,
        "GET, POST",
    );
}

fn autotask_headers(request: ObservedRequest) -> ObservedRequest {
    request
        .with_header("ApiIntegrationCode", "INTEGRATIONCODE")
        .with_header("UserName", "api@acme.example")
        .with_header("Secret", "s3cr3t")
}

#[test]
fn autotask_ticket_note_in_camel_case() {
    let autotask = spec("autotask.json");
    let path = "/ATServicesRest/V1.0/Tickets/7001/Notes";
    // The live API serialises camelCase; the document spells PascalCase.
    let note = autotask_headers(post(
        path,
        json!({"ticketID": 7001, "title": "Update", "description": "Reset done", "noteType": 1, "publish": 1}),
    ));
    autotask.validate_request(&note).unwrap();
    // A caller prefix that includes the version segment works as well.
    spec("autotask.json")
        .with_prefix("/ATServicesRest/V1.0")
        .validate_request(&note)
        .unwrap();

    let wrong = autotask_headers(post(path, json!({"noteType": "internal"})));
    assert_violation(
        autotask.validate_request(&wrong),
        ViolationKind::InvalidBody,
        "/notetype",
    );
    let unsigned = post(path, json!({"ticketID": 7001, "description": "x"}));
    assert_violation(
        autotask.validate_request(&unsigned),
        ViolationKind::MissingParameter,
        "header ApiIntegrationCode",
    );
}

#[test]
fn autotask_query_body() {
    let autotask = spec("autotask.json");
    let query = autotask_headers(post(
        "/ATServicesRest/V1.0/Tickets/query",
        json!({"MaxRecords": 50, "filter": [{"op": "eq", "field": "status", "value": 1}]}),
    ));
    autotask.validate_request(&query).unwrap();
    let wrong = autotask_headers(post(
        "/ATServicesRest/V1.0/Tickets/query",
        json!({"maxRecords": "fifty"}),
    ));
    assert_violation(
        autotask.validate_request(&wrong),
        ViolationKind::InvalidBody,
        "/maxrecords",
    );
}

#[test]
fn responses_validate_against_the_status_schema() {
    let graph = spec("microsoft-graph.yaml");
    let user = json!({
        "id": "48d31887-5fad-4d73-a9f5-3c356e68a038",
        "displayName": "Jane Doe",
        "userPrincipalName": "jane@acme.example",
        "accountEnabled": true,
        "department": null,
        "assignedLicenses": [{"skuId": SKU, "disabledPlans": []}]
    });
    graph.validate_response("GET", JANE, 200, &user).unwrap();
    assert_violation(
        graph.validate_response("GET", JANE, 200, &json!({"accountEnabled": "yes"})),
        ViolationKind::InvalidResponse,
        "/accountEnabled",
    );
    // Errors are documented as 4XX ranges with Graph's envelope.
    let not_found = json!({"error": {"code": "Request_ResourceNotFound", "message": "Resource 'x' does not exist."}});
    graph
        .validate_response("GET", JANE, 404, &not_found)
        .unwrap();
    assert_violation(
        graph.validate_response("GET", JANE, 404, &json!({"error": "gone"})),
        ViolationKind::InvalidResponse,
        "/error",
    );

    let okta = spec("okta.yaml");
    let error = json!({
        "errorCode": "E0000007",
        "errorSummary": "Not found: Resource not found: jane@acme.example (User)",
        "errorLink": "E0000007",
        "errorId": "oae8vQ2vV9mQ2GmDRDCNZ0mMA",
        "errorCauses": []
    });
    okta.validate_response("GET", "/api/v1/users/jane@acme.example", 404, &error)
        .unwrap();
    assert_violation(
        okta.validate_response("GET", "/api/v1/users/x", 302, &json!({})),
        ViolationKind::UnknownResponse,
        "302",
    );
}

/// The example objects in the vendor notes (`shared/vendors/*.md`) are valid responses.
#[test]
fn vendor_note_examples_validate_as_responses() {
    let okta_user = json!({
        "id": "00ub0oNGTSWTBKOLGLNR",
        "status": "ACTIVE",
        "created": "2013-06-24T16:39:18.000Z",
        "activated": "2013-06-24T16:39:19.000Z",
        "statusChanged": "2013-06-24T16:39:19.000Z",
        "lastLogin": "2013-06-24T17:39:19.000Z",
        "lastUpdated": "2013-07-02T21:36:25.344Z",
        "passwordChanged": "2013-07-02T21:36:25.344Z",
        "profile": {
            "login": "isaac.brock@example.com", "firstName": "Isaac", "lastName": "Brock",
            "displayName": "Isaac Brock", "email": "isaac.brock@example.com",
            "mobilePhone": "+1-555-415-1337", "department": "Engineering", "title": "Director"
        },
        "credentials": {
            "password": {},
            "recovery_question": {"question": "What's my childhood elementary school?"},
            "provider": {"type": "OKTA", "name": "OKTA"}
        },
        "_links": {"self": {"href": "https://acme.okta.com/api/v1/users/00u1f96ECLNVOKVMUSEA"}}
    });
    spec("okta.yaml")
        .validate_response("GET", "/api/v1/users/00ub0oNGTSWTBKOLGLNR", 200, &okta_user)
        .unwrap();

    let graph_user = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
        "businessPhones": ["+1 425 555 0109"],
        "displayName": "Adele Vance",
        "givenName": "Adele",
        "jobTitle": "Retail Manager",
        "mail": "AdeleV@contoso.com",
        "mobilePhone": null,
        "officeLocation": "18/2111",
        "preferredLanguage": "en-US",
        "surname": "Vance",
        "userPrincipalName": "AdeleV@contoso.com",
        "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
    });
    spec("microsoft-graph.yaml")
        .validate_response("GET", "/v1.0/users/AdeleV@contoso.com", 200, &graph_user)
        .unwrap();

    let cw_ticket = json!({
        "id": 123456,
        "summary": "Password reset - Jane Doe",
        "recordType": "ServiceTicket",
        "board": {"id": 1, "name": "Help Desk"},
        "status": {"id": 16, "name": "New"},
        "company": {"id": 250, "identifier": "ACME", "name": "Acme Corp"},
        "contact": {"id": 55, "name": "Jane Doe"},
        "contactEmailAddress": "jane@acme.com",
        "priority": {"id": 4, "name": "Priority 3 - Normal"},
        "severity": "Medium",
        "impact": "Medium",
        "owner": {"id": 12, "identifier": "tech1", "name": "Tech One"},
        "closedFlag": false,
        "actualHours": 0.25,
        "customFields": [],
        "_info": {"lastUpdated": "2025-03-01T14:02:11Z", "updatedBy": "apiuser"}
    });
    let cw = spec("connectwise-manage.json");
    let ticket_path = "/v4_6_release/apis/3.0/service/tickets/123456";
    cw.validate_response("GET", ticket_path, 200, &cw_ticket)
        .unwrap();
    let mut no_company = cw_ticket.clone();
    no_company.as_object_mut().unwrap().remove("company");
    assert_violation(
        cw.validate_response("GET", ticket_path, 200, &no_company),
        ViolationKind::InvalidResponse,
        "company",
    );

    let autotask_ticket = json!({"item": {
        "id": 98765, "ticketNumber": "T20250301.0042", "title": "Locked out of M365",
        "companyID": 250, "contactID": 31337, "status": 1, "priority": 2,
        "createDate": "2025-03-01T13:55:40.413Z", "completedDate": null, "userDefinedFields": []
    }});
    spec("autotask.json")
        .validate_response(
            "GET",
            "/ATServicesRest/V1.0/Tickets/98765",
            200,
            &autotask_ticket,
        )
        .unwrap();

    let ninja_device = json!({
        "id": 1234, "uid": "5b6c2c34-8f1e-4c7a-9a55-3f2b8e0d1a11", "organizationId": 12,
        "locationId": 30, "nodeClass": "WINDOWS_WORKSTATION", "nodeRoleId": 10, "policyId": 41,
        "approvalStatus": "APPROVED", "offline": false, "displayName": "ACME-LT-042",
        "systemName": "ACME-LT-042", "created": 1698765432.123, "lastContact": 1709301234.5,
        "ipAddresses": ["10.0.0.42"], "tags": [],
        "references": {"organization": {"id": 12, "name": "Acme Corp"}},
        "os": {"manufacturer": "Microsoft Corporation", "name": "Windows 11 Pro"},
        "system": {"manufacturer": "LENOVO", "model": "20XW", "serialNumber": "PF3ABC12"},
        "lastLoggedInUser": "ACME\\jdoe"
    });
    spec("ninjaone.yaml")
        .validate_response("GET", "/v2/device/1234", 200, &ninja_device)
        .unwrap();

    let hudu_asset = json!({"asset": {
        "id": 987, "company_id": 5, "asset_layout_id": 12, "slug": "jane-doe-3f9a1c",
        "name": "Jane Doe", "primary_serial": null, "primary_mail": "jane@acme.com",
        "company_name": "Acme Corp", "archived": false,
        "fields": [{"id": 4411, "label": "Email", "value": "jane@acme.com", "position": 1}],
        "cards": []
    }});
    spec("hudu.json")
        .validate_response("GET", "/api/v1/companies/5/assets/987", 200, &hudu_asset)
        .unwrap();
}

/// Every operation of every bundled document compiles into a validator: no `SpecError`.
#[test]
fn every_bundled_schema_compiles() {
    for name in Spec::bundled() {
        let spec = spec(name);
        let paths = spec.document()["paths"].as_object().unwrap().clone();
        let mut checked = 0;
        for (template, item) in &paths {
            let concrete: String = template
                .split('/')
                .map(|s| if s.contains('{') { "1" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let path = format!("{}{concrete}", spec.base_path());
            for (method, operation) in item.as_object().unwrap() {
                let Some(responses) = operation.get("responses").and_then(Value::as_object) else {
                    continue;
                };
                // `default` is checked through an undocumented status.
                let statuses = responses.keys().map(|s| s.parse::<u16>().unwrap_or(599));
                for status in statuses {
                    if let Err(v) = spec.validate_response(method, &path, status, &Value::Null) {
                        assert_ne!(v.kind, ViolationKind::SpecError, "{name}: {v}");
                        assert_ne!(v.kind, ViolationKind::UnknownPath, "{name}: {v}");
                    }
                    checked += 1;
                }
                let request = ObservedRequest::new(method, &path).with_json(&json!({}));
                if let Err(v) = spec.validate_request(&request) {
                    assert_ne!(v.kind, ViolationKind::SpecError, "{name}: {v}");
                    assert_ne!(v.kind, ViolationKind::UnknownPath, "{name}: {v}");
                    assert_ne!(v.kind, ViolationKind::MethodNotAllowed, "{name}: {v}");
                }
            }
        }
        assert!(checked > 10, "{name}: only {checked} responses checked");
    }
}

#[test]
fn unknown_spec_names_the_bundled_ones() {
    let err = Spec::load("salesforce.yaml").unwrap_err();
    assert!(err.to_string().contains("okta.yaml"), "{err}");
}

#[test]
fn observed_request_debug_hides_header_values() {
    let request = autotask_headers(ObservedRequest::new("GET", "/x"));
    let debug = format!("{request:?}");
    assert!(
        debug.contains("secret") && !debug.contains("s3cr3t"),
        "{debug}"
    );
}

#[tokio::test]
async fn assert_all_valid_over_a_wiremock_server() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let client = reqwest::Client::new();
    let base = format!("{}/v1.0", server.uri());
    client
        .patch(format!("{base}/users/jane@acme.example"))
        .json(&json!({"accountEnabled": false}))
        .send()
        .await
        .unwrap();
    client
        .post(format!(
            "{base}/users/jane@acme.example/revokeSignInSessions"
        ))
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/users?$filter=startswith(displayName,'J')"))
        .send()
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    let graph = spec("microsoft-graph.yaml");
    assert_all_valid(&graph, &received, "/v1.0");

    client
        .post(format!("{base}/users/jane@acme.example/assignLicense"))
        .json(&json!({"addLicenses": []}))
        .send()
        .await
        .unwrap();
    client.get(format!("{base}/me")).send().await.unwrap();
    let received = server.received_requests().await.unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_all_valid(&graph, &received, "/v1.0")
    }))
    .expect_err("two bad requests must fail the assertion");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.starts_with("2 of 5 requests"), "{message}");
    assert!(
        message.contains("removeLicenses") && message.contains("GET /v1.0/me"),
        "{message}"
    );
}

/// A wiremock request becomes an `ObservedRequest` (the type the simulators record into)
/// field for field: the raw query, the headers and the body as sent.
#[tokio::test]
async fn received_requests_convert_as_sent() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    reqwest::Client::new()
        .post(format!(
            "{}/api/v1/users/00u1/lifecycle/reset_password?sendEmail=false&note=a%20b",
            server.uri()
        ))
        .header("Authorization", "SSWS 00token")
        .send()
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    let observed = ObservedRequest::from(&received[0]);
    assert_eq!(observed.method, http::Method::POST);
    assert_eq!(observed.path, "/api/v1/users/00u1/lifecycle/reset_password");
    assert_eq!(
        observed.query.as_deref(),
        Some("sendEmail=false&note=a%20b")
    );
    assert_eq!(observed.query_value("note").as_deref(), Some("a b"));
    assert_eq!(observed.header("AUTHORIZATION"), Some("SSWS 00token"));
    assert_eq!(observed.json(), None);
    assert_eq!(
        observed.describe(),
        "POST /api/v1/users/00u1/lifecycle/reset_password?sendEmail=false&note=a b"
    );
    let okta = spec("okta.yaml");
    okta.validate_request(&observed).unwrap();
    let wrong = ObservedRequest {
        query: Some("sendEmail=maybe".into()),
        ..observed
    };
    assert_violation(
        okta.validate_request(&wrong),
        ViolationKind::InvalidParameter,
        "sendEmail",
    );
}

/// A small Swagger 2 document given as JSON text: `basePath`, body parameters, `x-nullable`,
/// and the header parameters OpenAPI says to ignore.
#[test]
fn inline_swagger_document() {
    let text = json!({
        "swagger": "2.0",
        "basePath": "/api/v2",
        "paths": {
            "/widgets/{id}": {
                "put": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": true, "type": "integer"},
                        {"name": "Authorization", "in": "header", "required": true, "type": "string"},
                        {"name": "body", "in": "body", "required": true,
                         "schema": {"$ref": "#/definitions/Widget"}}
                    ],
                    "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Widget"}}}
                }
            }
        },
        "definitions": {
            "Widget": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "colour": {"type": "string", "x-nullable": true, "enum": ["red", "blue"]}
                }
            }
        }
    })
    .to_string();
    let spec = Spec::parse("widgets.json", &text).unwrap();
    assert_eq!(spec.base_path(), "/api/v2");
    let put = |body: Value| ObservedRequest::new("PUT", "/api/v2/widgets/7").with_json(&body);
    spec.validate_request(&put(json!({"name": "w", "colour": null})))
        .unwrap();
    spec.validate_request(&put(json!({"name": "w", "colour": "red"})))
        .unwrap();
    assert_violation(
        spec.validate_request(&put(json!({"name": "w", "colour": "green"}))),
        ViolationKind::InvalidBody,
        "/colour",
    );
    assert_violation(
        spec.validate_request(&ObservedRequest::new("PUT", "/api/v2/widgets/7")),
        ViolationKind::MissingBody,
        "requires a body",
    );
    spec.validate_response("PUT", "/api/v2/widgets/7", 200, &json!({"name": "w"}))
        .unwrap();
    assert!(Spec::parse("broken.yaml", "paths: {}").is_err());
}
