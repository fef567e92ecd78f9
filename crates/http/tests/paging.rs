//! Each paging strategy runs to the end; a looping next link and the page cap are errors.

mod common;

use common::{builder, count};
use stackhand_core::ErrorKind;
use stackhand_http::{NextPage, Paging};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Item {
    id: String,
}

fn ids(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.id.as_str()).collect()
}

#[tokio::test]
async fn okta_link_header_pages_to_the_end() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("limit", "2"))
        .and(query_param_is_missing("after"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!(
                        r#"<{base}/api/v1/users?limit=2>; rel="self", <{base}/api/v1/users?after=00u2&limit=2>; rel="next""#
                    )
                    .as_str(),
                )
                .set_body_json(serde_json::json!([{"id": "00u1"}, {"id": "00u2"}])),
        )
        .mount(&server)
        .await;
    // Okta sends self and next as two separate Link headers on later pages.
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("after", "00u2"))
        .respond_with(
            ResponseTemplate::new(200)
                .append_header(
                    "link",
                    format!(r#"<{base}/api/v1/users?after=00u2&limit=2>; rel="self""#).as_str(),
                )
                .append_header(
                    "link",
                    format!(r#"<{base}/api/v1/users?after=00u4&limit=2>; rel="next""#).as_str(),
                )
                .set_body_json(serde_json::json!([{"id": "00u3"}, {"id": "00u4"}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("after", "00u4"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!(r#"<{base}/api/v1/users?after=00u4&limit=2>; rel="self""#).as_str(),
                )
                .set_body_json(serde_json::json!([{"id": "00u5"}])),
        )
        .mount(&server)
        .await;
    let client = builder(&server, "okta", "/").build().unwrap();
    let users: Vec<Item> = client
        .get("api/v1/users")
        .query(&[("limit", "2")])
        .operation("list_users")
        .collect_pages(Paging::link_header(""))
        .await
        .unwrap();
    assert_eq!(ids(&users), ["00u1", "00u2", "00u3", "00u4", "00u5"]);
    assert_eq!(count(&server, "/api/v1/users").await, 3);
}

#[tokio::test]
async fn graph_odata_next_link_pages_to_the_end_keeping_headers() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$count", "true"))
        .and(query_param_is_missing("$skiptoken"))
        .and(header("consistencylevel", "eventual"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
            "@odata.nextLink": format!("{base}/v1.0/users?$count=true&$skiptoken=RFNwdAIAAQAAAD"),
            "value": [{"id": "u1"}, {"id": "u2"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$skiptoken", "RFNwdAIAAQAAAD"))
        .and(header("consistencylevel", "eventual"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
            "value": [{"id": "u3"}]
        })))
        .mount(&server)
        .await;
    let client = builder(&server, "m365", "/v1.0/").build().unwrap();
    let users: Vec<Item> = client
        .get("users")
        .query(&[("$count", "true")])
        .header("ConsistencyLevel", "eventual")
        .collect_pages(Paging::odata())
        .await
        .unwrap();
    assert_eq!(ids(&users), ["u1", "u2", "u3"]);
}

#[tokio::test]
async fn autotask_next_page_url_pages_to_the_end() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("POST"))
        .and(path("/atservicesrest/V1.0/Tickets/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "items": [{"id": "1"}, {"id": "2"}],
            "pageDetails": {"count": 2, "requestCount": 2, "prevPageUrl": null,
                            "nextPageUrl": format!("{base}/atservicesrest/V1.0/Tickets/query/next?paging=abc")}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/atservicesrest/V1.0/Tickets/query/next"))
        .and(query_param("paging", "abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "items": [{"id": "3"}],
            "pageDetails": {"count": 1, "requestCount": 2, "prevPageUrl": null, "nextPageUrl": null}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server, "autotask", "/atservicesrest/V1.0/")
        .build()
        .unwrap();
    let tickets: Vec<Item> = client
        .post("Tickets/query")
        .json(&serde_json::json!({"filter": [{"op": "exist", "field": "id"}]}))
        .retry_safe()
        .collect_pages(Paging::new(
            NextPage::UrlAt("/pageDetails/nextPageUrl".to_owned()),
            "/items",
        ))
        .await
        .unwrap();
    assert_eq!(ids(&tickets), ["1", "2", "3"]);
    server.verify().await;
}

#[tokio::test]
async fn page_numbers_stop_on_a_short_page() {
    let server = MockServer::start().await;
    for (page, body) in [
        ("1", serde_json::json!([{"id": "a"}, {"id": "b"}])),
        ("2", serde_json::json!([{"id": "c"}, {"id": "d"}])),
        ("3", serde_json::json!([{"id": "e"}])),
    ] {
        Mock::given(method("GET"))
            .and(path("/v4_6_release/apis/3.0/service/tickets"))
            .and(query_param("page", page))
            .and(query_param("pageSize", "2"))
            .and(query_param("conditions", "closedFlag=false"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = builder(&server, "connectwise", "/v4_6_release/apis/3.0/")
        .build()
        .unwrap();
    let tickets: Vec<Item> = client
        .get("service/tickets")
        .query(&[("conditions", "closedFlag=false")])
        .collect_pages(Paging::page_numbers(2))
        .await
        .unwrap();
    assert_eq!(ids(&tickets), ["a", "b", "c", "d", "e"]);
    server.verify().await;
}

#[tokio::test]
async fn page_numbers_stop_on_an_empty_page() {
    let server = MockServer::start().await;
    Mock::given(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([{"id": "a"}])))
        .mount(&server)
        .await;
    Mock::given(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    let client = builder(&server, "connectwise", "/").build().unwrap();
    let items: Vec<Item> = client
        .get("list")
        .collect_pages(Paging::new(
            NextPage::PageNumber {
                page_param: "page".into(),
                size_param: "pageSize".into(),
                page_size: 1,
                first_page: 1,
            },
            "",
        ))
        .await
        .unwrap();
    assert_eq!(ids(&items), ["a"]);
    assert_eq!(count(&server, "/list").await, 2);
}

#[tokio::test]
async fn a_repeating_next_link_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(path("/v1.0/groups"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "value": [{"id": "g1"}],
            "@odata.nextLink": format!("{base}/v1.0/groups?$skiptoken=X")
        })))
        .mount(&server)
        .await;
    // The second page points at itself.
    Mock::given(path("/v1.0/groups"))
        .and(query_param("$skiptoken", "X"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "value": [{"id": "g2"}],
            "@odata.nextLink": format!("{base}/v1.0/groups?$skiptoken=X")
        })))
        .mount(&server)
        .await;
    let client = builder(&server, "m365", "/v1.0/").build().unwrap();
    let err = client
        .get("groups")
        .collect_pages::<Item>(Paging::odata())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(err.to_string().contains("repeats"), "{err}");
    assert_eq!(count(&server, "/v1.0/groups").await, 2);
}

#[tokio::test]
async fn the_page_cap_is_an_error_not_a_silent_truncation() {
    let server = MockServer::start().await;
    Mock::given(path("/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!([{"id": "a"}, {"id": "b"}])),
        )
        .mount(&server)
        .await;
    let client = builder(&server, "connectwise", "/").build().unwrap();
    let err = client
        .get("list")
        .collect_pages::<Item>(Paging::page_numbers(2).max_pages(3))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than 3 pages"), "{err}");
    assert_eq!(count(&server, "/list").await, 3);
}

#[tokio::test]
async fn a_pager_can_stop_early() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "value": [{"id": "u1"}],
            "@odata.nextLink": format!("{base}/v1.0/users?$skiptoken=N")
        })))
        .mount(&server)
        .await;
    let client = builder(&server, "m365", "/v1.0/").build().unwrap();
    let mut pager = client.get("users").pages(Paging::odata());
    let (response, items) = pager.next_page().await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(items.len(), 1);
    assert_eq!(count(&server, "/v1.0/users").await, 1);
}
