//! Checks on the code's shape: the pure core stays pure, and the published API description
//! matches the routes.

use std::collections::BTreeSet;
use std::path::Path;

use actix_web::http::StatusCode;

use crate::support::TestApp;

fn sources(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| {
            (
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_pure_core_does_no_io_and_reads_no_clock() {
    let forbidden = [
        "actix",
        "diesel",
        "crate::store",
        "crate::web",
        "crate::service",
        "std::fs",
        "std::net",
        "std::env",
        "SystemTime",
        "Instant::now",
        "now_utc",
        "now_local",
        "tokio",
    ];
    for dir in ["src/crypto", "src/procedure"] {
        for (path, text) in sources(dir) {
            for word in forbidden {
                assert!(!text.contains(word), "{path} mentions {word}");
            }
        }
    }
}

/// `(METHOD, path)` pairs the API serves.
fn registered_routes() -> BTreeSet<(String, String)> {
    speakup::web::api::ENDPOINTS
        .iter()
        .map(|endpoint| (endpoint.method.to_owned(), endpoint.path.to_owned()))
        .collect()
}

/// A concrete address for a documented path: every `{parameter}` filled in.
fn concrete(path: &str) -> String {
    let filled: Vec<String> = path
        .split('/')
        .map(|piece| {
            if piece.starts_with('{') {
                "x".to_owned()
            } else {
                piece.to_owned()
            }
        })
        .collect();
    format!("/api/v1{}", filled.join("/"))
}

#[actix_web::test]
async fn every_endpoint_is_routed_and_other_methods_answer_405_with_allow() {
    let app = TestApp::new();
    let service = app.service().await;
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    let routes = registered_routes();
    let paths: BTreeSet<&String> = routes.iter().map(|(_, path)| path).collect();
    for path in paths {
        let served: Vec<&str> = routes
            .iter()
            .filter(|(_, p)| p == path)
            .map(|(method, _)| method.as_str())
            .collect();
        for method in methods {
            let request = actix_web::test::TestRequest::default()
                .method(method.parse().unwrap())
                .uri(&concrete(path))
                .to_request();
            let response = actix_web::test::call_service(&service, request).await;
            if served.contains(&method) {
                assert_ne!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
            } else {
                assert_eq!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                let allow = response.headers().get("allow").unwrap().to_str().unwrap();
                let mut allowed: Vec<&str> = allow.split(", ").collect();
                allowed.sort_unstable();
                assert_eq!(allowed, served, "{method} {path}");
                let body: serde_json::Value = actix_web::test::read_body_json(response).await;
                assert_eq!(body["error"]["code"], "method_not_allowed");
            }
        }
    }
}

#[actix_web::test]
async fn the_openapi_document_describes_exactly_the_routes() {
    let app = TestApp::new();
    let service = app.service().await;
    let response = actix_web::test::call_service(
        &service,
        actix_web::test::TestRequest::get()
            .uri("/api/v1/openapi.json")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let spec: serde_json::Value = actix_web::test::read_body_json(response).await;
    assert_eq!(spec["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    assert_eq!(documented, registered_routes());
    // Every schema reference resolves.
    let text = spec.to_string();
    for reference in text.split("#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(spec["components"]["schemas"].get(name).is_some(), "{name}");
    }
}
