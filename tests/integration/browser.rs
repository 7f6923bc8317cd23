//! A minimal cookie-keeping client over the in-process app, for driving HTML forms the way a
//! browser without JavaScript would.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test::{self, TestRequest};

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the first `<input … name="NAME" … value="…">`.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let start = self.body.find(&marker)?;
        let tag_start = self.body[..start].rfind('<')?;
        let tag_end = start + self.body[start..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let value_start = tag.find("value=\"")? + 7;
        let value_end = value_start + tag[value_start..].find('"')?;
        Some(html_unescape(&tag[value_start..value_end]))
    }

    pub fn csrf(&self) -> String {
        self.input_value("csrf").expect("page has a CSRF field")
    }

    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Visible text with tags removed and entities decoded, for readable assertions.
    pub fn text(&self) -> String {
        let mut text = String::new();
        let mut in_tag = false;
        for c in self.body.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    text.push(' ');
                }
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        html_unescape(&text.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

pub fn html_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub struct Browser<S> {
    service: S,
    cookies: BTreeMap<String, String>,
    peer: Option<SocketAddr>,
}

impl<S, B> Browser<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    pub fn new(service: S) -> Self {
        Browser {
            service,
            cookies: BTreeMap::new(),
            peer: None,
        }
    }

    /// Sends every following request from this client address (for rate limits).
    pub fn peer_addr(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }

    pub fn cookie(&self, name: &str) -> Option<&String> {
        self.cookies.get(name)
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    pub fn forget_cookie(&mut self, name: &str) {
        self.cookies.remove(name);
    }

    /// Adds the client address (if set) and the cookies held.
    fn with_cookies(&self, mut request: TestRequest) -> TestRequest {
        if let Some(peer) = self.peer {
            request = request.peer_addr(peer);
        }
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.insert_header(("cookie", header));
        }
        request
    }

    async fn send(&mut self, request: TestRequest) -> Page {
        let response =
            test::call_service(&self.service, self.with_cookies(request).to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = test::read_body(response).await;
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, uri: &str) -> Page {
        self.send(TestRequest::get().uri(uri)).await
    }

    pub async fn post_form(&mut self, uri: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(
            TestRequest::post()
                .uri(uri)
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(body),
        )
        .await
    }
}

impl<S, B> Browser<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// Posts a body as is (a multipart form, say), with the cookies held.
    pub async fn post_body(&mut self, uri: &str, content_type: &str, body: Vec<u8>) -> Page {
        self.send(
            TestRequest::post()
                .uri(uri)
                .insert_header(("content-type", content_type.to_owned()))
                .set_payload(body),
        )
        .await
    }

    /// The raw bytes of a download, with its status.
    pub async fn download(&mut self, uri: &str) -> (StatusCode, Vec<u8>) {
        let response = test::call_service(
            &self.service,
            self.with_cookies(TestRequest::get().uri(uri)).to_request(),
        )
        .await;
        let status = response.status();
        (status, test::read_body(response).await.to_vec())
    }
}

pub fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
