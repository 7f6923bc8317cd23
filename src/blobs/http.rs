//! The few HTTP/1.1 requests the S3 store makes: one connection per request (plain TCP, or TLS
//! checked against the Mozilla roots), a body held as one buffer of at most one upload part,
//! and a response body read frame by frame. Every network wait has a time limit, so a stalled
//! object store fails an upload instead of holding it open forever.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, pki_types::ServerName};
use url::Url;

use super::BlobError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// From the last byte of the request to the response head, and between body frames.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);
/// Error bodies are read only this far (they are short XML documents).
const MAX_ERROR_BODY: usize = 8 * 1024;

/// Built on the first https request.
static TLS: OnceLock<Result<TlsConnector, String>> = OnceLock::new();

fn tls_connector() -> Result<TlsConnector, BlobError> {
    TLS.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(TlsConnector::from(Arc::new(config)))
    })
    .clone()
    .map_err(BlobError::Setting)
}

#[derive(Clone, Default)]
pub struct HttpClient {}

impl HttpClient {
    pub fn new() -> HttpClient {
        HttpClient {}
    }

    /// Sends one request and returns the response with its body still to be read.
    pub async fn send(
        &self,
        method: hyper::Method,
        url: &Url,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response<Incoming>, BlobError> {
        let host = url
            .host_str()
            .ok_or_else(|| BlobError::Setting("endpoint has no host".to_owned()))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| BlobError::Setting("endpoint has no port".to_owned()))?;
        // The `host` header must be exactly what the request was signed for.
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let mut target = url.path().to_owned();
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        let mut request = Request::builder()
            .method(method)
            .uri(target)
            .header(hyper::header::HOST, host_header)
            .header(hyper::header::CONTENT_LENGTH, body.len());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|error| remote(format!("building request: {error}")))?;

        let connect_host = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((connect_host, port)))
            .await
            .map_err(|_| remote(format!("connecting to {host}:{port} timed out")))?
            .map_err(|error| remote(format!("connecting to {host}:{port}: {error}")))?;
        let _ = tcp.set_nodelay(true);
        match url.scheme() {
            "https" => {
                let name = ServerName::try_from(connect_host.to_owned())
                    .map_err(|error| BlobError::Setting(format!("endpoint host: {error}")))?;
                let connector = tls_connector()?;
                let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
                    .await
                    .map_err(|_| remote(format!("TLS with {host} timed out")))?
                    .map_err(|error| remote(format!("TLS with {host}: {error}")))?;
                exchange(TokioIo::new(tls), request).await
            }
            "http" => exchange(TokioIo::new(tcp), request).await,
            other => Err(BlobError::Setting(format!(
                "endpoint scheme {other} must be http or https"
            ))),
        }
    }
}

async fn exchange<T>(io: T, request: Request<Full<Bytes>>) -> Result<Response<Incoming>, BlobError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|error| remote(format!("HTTP handshake: {error}")))?;
    // The connection is driven in its own task until the response body has been read (or
    // dropped); it ends with it.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    tokio::time::timeout(RESPONSE_TIMEOUT, sender.send_request(request))
        .await
        .map_err(|_| remote("object store did not answer in time".to_owned()))?
        .map_err(|error| remote(format!("object store request: {error}")))
}

/// The next piece of a response body, or `None` at its end.
pub async fn next_data(body: &mut Incoming) -> Result<Option<Bytes>, BlobError> {
    loop {
        let frame = tokio::time::timeout(RESPONSE_TIMEOUT, body.frame())
            .await
            .map_err(|_| remote("object store stopped sending".to_owned()))?;
        match frame {
            None => return Ok(None),
            Some(Err(error)) => return Err(remote(format!("reading from object store: {error}"))),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data()
                    && !data.is_empty()
                {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// A whole (short) response body as text, cut at `MAX_ERROR_BODY`.
pub async fn short_text(mut body: Incoming, limit: usize) -> Result<String, BlobError> {
    let mut text = Vec::new();
    while let Some(data) = next_data(&mut body).await? {
        let room = limit.saturating_sub(text.len());
        text.extend_from_slice(&data[..data.len().min(room)]);
        if text.len() >= limit {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// An error answer, as an operator can act on it: the status and S3's error code.
pub async fn failure(what: &str, response: Response<Incoming>) -> BlobError {
    let status = response.status();
    let text = short_text(response.into_body(), MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    error_document(&format!("{what}: HTTP {status}"), &text)
}

/// An S3 `Error` document, as an operator can act on it.
pub fn error_document(what: &str, text: &str) -> BlobError {
    let code = between(text, "<Code>", "</Code>").unwrap_or("");
    let message = between(text, "<Message>", "</Message>").unwrap_or("");
    remote(format!("{what}: {code} {message}").trim_end().to_owned())
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

fn remote(message: String) -> BlobError {
    BlobError::Remote(message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_picked_out() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code>\
                   <Message>The bucket does not exist</Message></Error>";
        assert_eq!(between(xml, "<Code>", "</Code>"), Some("NoSuchBucket"));
        assert_eq!(
            between(xml, "<Message>", "</Message>"),
            Some("The bucket does not exist")
        );
        assert_eq!(between("no xml", "<Code>", "</Code>"), None);
    }

    #[test]
    fn the_tls_configuration_builds() {
        assert!(tls_connector().is_ok());
    }
}
