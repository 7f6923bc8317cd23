//! The server shell: health, metrics, security headers, error pages.

use actix_web::http::StatusCode;
use actix_web::test;

use crate::support::TestApp;

#[actix_web::test]
async fn healthz_answers_when_the_database_does() {
    let app = TestApp::new();
    let service = app.service().await;
    let response = test::call_service(
        &service,
        test::TestRequest::get().uri("/healthz").to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        test::read_body(response).await,
        "ok\noutbox_queued 0\noutbox_failing 0\noutbox_held_for_digest 0\n"
    );
}

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::new();
    let service = app.service().await;
    for uri in ["/", "/healthz", "/no-such-page", "/api/v1/no-such-thing"] {
        let response =
            test::call_service(&service, test::TestRequest::get().uri(uri).to_request()).await;
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("default-src 'none'"), "{uri}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}");
        assert!(!csp.contains("unsafe-inline"), "{uri}");
        assert_eq!(
            headers.get("referrer-policy").unwrap(),
            "no-referrer",
            "{uri}"
        );
        assert_eq!(
            headers.get("x-content-type-options").unwrap(),
            "nosniff",
            "{uri}"
        );
        assert_eq!(headers.get("cache-control").unwrap(), "no-store", "{uri}");
        assert!(headers.get("strict-transport-security").is_some(), "{uri}");
    }
}

#[actix_web::test]
async fn unknown_api_paths_get_json_and_pages_get_html() {
    let app = TestApp::new();
    let service = app.service().await;
    let response = test::call_service(
        &service,
        test::TestRequest::get().uri("/api/v1/nothing").to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(body["error"]["code"], "not_found");

    let response = test::call_service(
        &service,
        test::TestRequest::get().uri("/nothing").to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(body.contains("<h1>Not Found</h1>"), "{body}");
}

#[actix_web::test]
async fn metrics_need_the_token_and_never_move_with_reporter_activity() {
    const TOKEN: &str = "scraper-token-0123456789";
    let app = TestApp::with_settings(|raw| raw.metrics_token = TOKEN.to_owned());
    let service = app.service().await;
    let scrape = |token: Option<&str>| {
        let request = test::TestRequest::get().uri("/metrics");
        match token {
            Some(token) => request.insert_header(("authorization", format!("Bearer {token}"))),
            None => request,
        }
        .to_request()
    };
    for refused in [None, Some("wrong-token-0123456789")] {
        let response = test::call_service(&service, scrape(refused)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{refused:?}");
    }
    test::call_service(
        &service,
        test::TestRequest::get().uri("/healthz").to_request(),
    )
    .await;
    let body_of = |response| async move {
        String::from_utf8(test::read_body(response).await.to_vec()).unwrap()
    };
    let before = body_of(test::call_service(&service, scrape(Some(TOKEN))).await).await;
    assert!(
        before.contains(
            "speakup_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"2xx\"} 1"
        ),
        "{before}"
    );
    // A reporter raises a concern and opens the mailbox: no series moves.
    app.staff();
    let (case_key, _) = crate::api_client::raise(
        &service,
        crate::api_client::confidential_concern("Timed by nobody."),
    )
    .await;
    let (status, _) = crate::api_client::call(
        &service,
        crate::api_client::post_json(
            "/api/v1/mailbox/session",
            serde_json::json!({"case_key": case_key}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    test::call_service(&service, test::TestRequest::get().uri("/").to_request()).await;
    let after = body_of(test::call_service(&service, scrape(Some(TOKEN))).await).await;
    let without_scrapes = |text: &str| {
        text.lines()
            .filter(|line| !line.contains("/metrics"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(without_scrapes(&before), without_scrapes(&after));
    assert!(
        !after.contains("concern") && !after.contains("mailbox"),
        "{after}"
    );
}

#[actix_web::test]
async fn without_a_metrics_token_there_is_no_metrics_page() {
    let app = TestApp::new();
    let service = app.service().await;
    let response = test::call_service(
        &service,
        test::TestRequest::get()
            .uri("/metrics")
            .insert_header(("authorization", "Bearer anything-at-all-here"))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn the_start_page_explains_anonymous_and_confidential() {
    let app = TestApp::new();
    let service = app.service().await;
    let response =
        test::call_service(&service, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(body.contains("lang=\"en-GB\""));
    assert!(body.contains("Anonymous"));
    assert!(body.contains("Confidential"));
    assert!(body.contains("INWO"));
    assert!(!body.contains("<script"));
    assert!(!body.contains("style=\""), "no inline styles under the CSP");
}

#[actix_web::test]
async fn the_stylesheet_is_cacheable_and_self_hosted() {
    let app = TestApp::new();
    let service = app.service().await;
    let response = test::call_service(
        &service,
        test::TestRequest::get()
            .uri("/static/style.css")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("cache-control").unwrap(),
        "public, max-age=3600"
    );
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(!body.contains("@import") && !body.contains("url(http"));
}

#[actix_web::test]
async fn behind_a_proxy_only_the_address_it_appended_counts_for_rate_limits() {
    let app = TestApp::with_settings(|raw| {
        raw.trust_forwarded_for = true;
        raw.mailbox_sign_ins_per_minute = 2;
    });
    let service = app.service().await;
    let mut statuses = Vec::new();
    for forged in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        // The client sends a header line of its own; the proxy appends the address it saw as
        // a second line.
        let response = test::call_service(
            &service,
            test::TestRequest::post()
                .uri("/api/v1/mailbox/session")
                .append_header(("x-forwarded-for", forged))
                .append_header(("x-forwarded-for", "203.0.113.9"))
                .set_json(serde_json::json!({"case_key": "x"}))
                .to_request(),
        )
        .await;
        statuses.push(response.status());
    }
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

/// Issue 14: the concern form runs the crypto module, pinned by Subresource Integrity under a
/// policy that allows only scripts from the portal and WebAssembly; the served bytes hash to the
/// page's integrity values, and the loader and module are the committed files.
#[actix_web::test]
async fn the_crypto_page_pins_its_scripts_and_allows_only_them() {
    use sha2::{Digest, Sha384};

    let app = TestApp::new();
    let _staff = app.staff();
    let mut browser = crate::browser::Browser::new(app.service().await);
    let form = browser
        .get("/concerns/new?organisation=nhs-testshire")
        .await;
    assert_eq!(form.status, StatusCode::OK);
    let csp = form
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(
        csp,
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
         style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
         base-uri 'none'"
    );
    assert!(!form.body.contains("<script>"), "no inline script");

    let attribute = |name: &str| {
        let start = form.body.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + form.body[start..].find('"').unwrap();
        form.body[start..end].to_owned()
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (src, integrity, file, content_type) in [
        (
            attribute("src"),
            attribute("integrity"),
            "static/speakup.js",
            "text/javascript; charset=utf-8",
        ),
        (
            attribute("data-module"),
            attribute("data-module-integrity"),
            "static/speakup-crypto.wasm",
            "application/wasm",
        ),
    ] {
        let page = browser.get(&src).await;
        assert_eq!(
            page.headers.get("content-type").unwrap(),
            content_type,
            "{src}"
        );
        let (status, bytes) = browser.download(&src).await;
        assert_eq!(status, StatusCode::OK, "{src}");
        assert_eq!(bytes, std::fs::read(root.join(file)).unwrap(), "{src}");
        let hash = data_encoding::BASE64.encode(&Sha384::digest(&bytes));
        assert_eq!(integrity, format!("sha384-{hash}"), "{src}");
    }

    // Pages that do not run the module keep the policy without any script.
    let home = browser.get("/").await;
    let csp = home
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(!csp.contains("script-src") && csp.starts_with("default-src 'none'"));
    assert!(!home.body.contains("<script"));
}
