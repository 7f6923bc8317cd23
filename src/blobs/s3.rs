//! S3-compatible object storage (AWS S3, MinIO, Ceph RGW, Garage, …), so several instances on
//! PostgreSQL can share one attachment store. Requests are signed with AWS Signature V4 by
//! `rusty-s3` (query-string signing; the bodies are already sealed) and sent over the small
//! HTTP/1.1 client in `http.rs`.
//!
//! Uploads stream in bounded memory: the sealed bytes fill one part buffer of [`PART_SIZE`];
//! a file that fits in it is written with one `PUT` on commit, a larger one becomes a multipart
//! upload, one part at a time, completed on commit. Until then nothing is visible under the
//! object's name; an aborted (or dropped) writer aborts the multipart upload. Downloads stream
//! the response body piece by piece.

use std::sync::Arc;
use std::time::Duration;

use hyper::Method;
use hyper::body::Bytes;
use rusty_s3::actions::CreateMultipartUpload;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use url::Url;

use super::http::{self, HttpClient};
use super::{BackupHint, BlobError, BlobKey, BlobReader, BlobStore, BlobWriter, BoxFuture};

/// The part size of multipart uploads (S3 requires at least 5 MiB for every part but the last).
/// It is also the most one upload holds in memory.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// How long a signed request stays valid: long enough for one part on a slow link.
const SIGNATURE_LIFETIME: Duration = Duration::from_secs(15 * 60);
const MAX_XML_RESPONSE: usize = 64 * 1024;

/// Where the objects live, as written in `attachment_store`
/// (`s3://BUCKET/PREFIX?endpoint=URL&region=R&style=path|virtual-host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// The bucket as `rusty-s3` addresses it (built while parsing, so a bad one is a setting
    /// error at start, never a failure later).
    addressed: Bucket,
    /// Empty, or `a/b` (no leading or trailing slash): objects are `PREFIX/CASE/ATTACHMENT`.
    pub prefix: String,
    pub endpoint: String,
    pub region: String,
    pub path_style: bool,
}

/// The access key pair. `Debug` never shows the secret.
#[derive(Clone)]
pub struct S3Keys {
    pub access_key_id: String,
    pub secret_access_key: Arc<crate::crypto::Secret<String>>,
}

impl PartialEq for S3Keys {
    fn eq(&self, other: &Self) -> bool {
        self.access_key_id == other.access_key_id
            && self.secret_access_key.expose_secret() == other.secret_access_key.expose_secret()
    }
}

impl Eq for S3Keys {}

impl std::fmt::Debug for S3Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Keys({}, <secret>)", self.access_key_id)
    }
}

impl S3Location {
    /// Parses the part after `s3://`.
    pub fn parse(rest: &str) -> Result<S3Location, BlobError> {
        let invalid = |why: &str| BlobError::Setting(format!("attachment_store s3://…: {why}"));
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && !bucket.starts_with(['.', '-'])
            && !bucket.ends_with(['.', '-']);
        if !bucket_ok {
            return Err(invalid(
                "the bucket name must be 3 to 63 lowercase letters, digits, dots or hyphens",
            ));
        }
        let prefix = prefix.trim_end_matches('/');
        let prefix_ok = prefix.split('/').all(|segment| {
            prefix.is_empty()
                || (!segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
        });
        if !prefix_ok {
            return Err(invalid(
                "the prefix may only hold letters, digits, '-', '_', '.' and '/' between names",
            ));
        }
        let mut endpoint = None;
        let mut region = None;
        let mut style = None;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match key.as_ref() {
                "endpoint" => &mut endpoint,
                "region" => &mut region,
                "style" => &mut style,
                other => {
                    return Err(invalid(&format!(
                        "unknown parameter {other:?} (use endpoint, region, style)"
                    )));
                }
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(invalid(&format!("{key} is given twice")));
            }
        }
        let region = region.unwrap_or_else(|| "us-east-1".to_owned());
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid("region must be a name such as eu-west-2"));
        }
        let custom_endpoint = endpoint.is_some();
        let endpoint = endpoint.unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let parsed = Url::parse(&endpoint)
            .map_err(|_| invalid("endpoint must be a URL such as https://minio.internal:9000"))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.host_str().is_none()
            || parsed.query().is_some()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(invalid(
                "endpoint must be http:// or https:// with a host, and no credentials or query",
            ));
        }
        let path_style = match style.as_deref() {
            None => custom_endpoint,
            Some("path") => true,
            Some("virtual-host") => false,
            Some(_) => return Err(invalid("style must be path or virtual-host")),
        };
        let addressed = Bucket::new(
            parsed,
            if path_style {
                UrlStyle::Path
            } else {
                UrlStyle::VirtualHost
            },
            bucket.to_owned(),
            region.clone(),
        )
        .map_err(|_| {
            invalid("this bucket cannot be addressed at that endpoint (try style=path)")
        })?;
        Ok(S3Location {
            addressed,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint,
            region,
            path_style,
        })
    }

    /// `s3://bucket/prefix at endpoint`, for messages (holds no secret).
    pub fn describe(&self) -> String {
        let mut text = format!("s3://{}", self.bucket);
        if !self.prefix.is_empty() {
            text.push('/');
            text.push_str(&self.prefix);
        }
        format!("{text} at {}", self.endpoint)
    }
}

struct Inner {
    bucket: Bucket,
    credentials: Credentials,
    location: S3Location,
    client: HttpClient,
}

impl Inner {
    fn object_name(&self, key: &BlobKey) -> String {
        if self.location.prefix.is_empty() {
            key.object_name()
        } else {
            format!("{}/{}", self.location.prefix, key.object_name())
        }
    }

    async fn send(
        &self,
        method: Method,
        url: &Url,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<hyper::Response<hyper::body::Incoming>, BlobError> {
        self.client.send(method, url, headers, body).await
    }

    async fn put_whole(&self, object: &str, body: Bytes) -> Result<(), BlobError> {
        let url = self
            .bucket
            .put_object(Some(&self.credentials), object)
            .sign(SIGNATURE_LIFETIME);
        let response = self.send(Method::PUT, &url, &[], body).await?;
        if !response.status().is_success() {
            return Err(http::failure("storing an attachment", response).await);
        }
        Ok(())
    }

    async fn start_multipart(&self, object: &str) -> Result<String, BlobError> {
        let url = self
            .bucket
            .create_multipart_upload(Some(&self.credentials), object)
            .sign(SIGNATURE_LIFETIME);
        let response = self.send(Method::POST, &url, &[], Bytes::new()).await?;
        if !response.status().is_success() {
            return Err(http::failure("starting an upload", response).await);
        }
        let text = http::short_text(response.into_body(), MAX_XML_RESPONSE).await?;
        let parsed = CreateMultipartUpload::parse_response(&text)
            .map_err(|error| BlobError::Remote(format!("starting an upload: {error}")))?;
        Ok(parsed.upload_id().to_owned())
    }

    async fn put_part(
        &self,
        object: &str,
        upload_id: &str,
        number: u16,
        body: Bytes,
    ) -> Result<String, BlobError> {
        let url = self
            .bucket
            .upload_part(Some(&self.credentials), object, number, upload_id)
            .sign(SIGNATURE_LIFETIME);
        let response = self.send(Method::PUT, &url, &[], body).await?;
        if !response.status().is_success() {
            return Err(http::failure("storing part of an attachment", response).await);
        }
        let etag = response
            .headers()
            .get(hyper::header::ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| BlobError::Remote("the object store sent no ETag".to_owned()))?;
        // Drain the (empty) body so the connection closes cleanly.
        let _ = http::short_text(response.into_body(), MAX_XML_RESPONSE).await;
        Ok(etag)
    }

    async fn complete_multipart(
        &self,
        object: &str,
        upload_id: &str,
        etags: &[String],
    ) -> Result<(), BlobError> {
        let action = self.bucket.complete_multipart_upload(
            Some(&self.credentials),
            object,
            upload_id,
            etags.iter().map(String::as_str),
        );
        let url = action.sign(SIGNATURE_LIFETIME);
        let body = action.body();
        let response = self
            .send(Method::POST, &url, &[], Bytes::from(body))
            .await?;
        if !response.status().is_success() {
            return Err(http::failure("completing an upload", response).await);
        }
        // S3 can answer 200 and still fail: then the body is an `Error` document. (The success
        // document's root element differs between stores, so only the error is looked for.)
        let text = http::short_text(response.into_body(), MAX_XML_RESPONSE).await?;
        if text.contains("<Error>") {
            return Err(http::error_document("completing an upload", &text));
        }
        Ok(())
    }

    async fn abort_multipart(&self, object: &str, upload_id: &str) {
        let url = self
            .bucket
            .abort_multipart_upload(Some(&self.credentials), object, upload_id)
            .sign(SIGNATURE_LIFETIME);
        match self.send(Method::DELETE, &url, &[], Bytes::new()).await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                let error = http::failure("aborting an upload", response).await;
                tracing::warn!(error = %error, "unfinished upload left in the bucket");
            }
            Err(error) => tracing::warn!(error = %error, "unfinished upload left in the bucket"),
        }
    }
}

pub struct S3Store {
    inner: Arc<Inner>,
}

impl S3Store {
    pub fn new(location: &S3Location, keys: &S3Keys) -> S3Store {
        let credentials = Credentials::new(
            keys.access_key_id.clone(),
            keys.secret_access_key.expose_secret().clone(),
        );
        S3Store {
            inner: Arc::new(Inner {
                bucket: location.addressed.clone(),
                credentials,
                location: location.clone(),
                client: HttpClient::new(),
            }),
        }
    }
}

struct Multipart {
    upload_id: String,
    etags: Vec<String>,
}

struct S3Writer {
    inner: Arc<Inner>,
    object: String,
    buffer: Vec<u8>,
    multipart: Option<Multipart>,
}

impl S3Writer {
    /// Sends the full buffer as the next part, then takes its memory back for the next one, so
    /// one upload holds a single part-sized buffer however large the file.
    async fn flush_part(&mut self) -> Result<(), BlobError> {
        let part = Bytes::from(std::mem::take(&mut self.buffer));
        self.send_part(part.clone()).await?;
        self.buffer = match part.try_into_mut() {
            Ok(reclaimed) => {
                let mut buffer = Vec::from(reclaimed);
                buffer.clear();
                buffer
            }
            // The HTTP client still holds a reference: a fresh buffer, the old one goes with it.
            Err(_) => Vec::with_capacity(PART_SIZE),
        };
        Ok(())
    }

    async fn send_part(&mut self, part: Bytes) -> Result<(), BlobError> {
        if self.multipart.is_none() {
            let upload_id = self.inner.start_multipart(&self.object).await?;
            self.multipart = Some(Multipart {
                upload_id,
                etags: Vec::new(),
            });
        }
        let Some(multipart) = self.multipart.as_mut() else {
            return Err(BlobError::Remote("upload was not started".to_owned()));
        };
        let number = u16::try_from(multipart.etags.len() + 1)
            .ok()
            .filter(|n| *n <= 10_000)
            .ok_or_else(|| BlobError::Remote("too many parts for one object".to_owned()))?;
        let etag = self
            .inner
            .put_part(&self.object, &multipart.upload_id, number, part)
            .await?;
        multipart.etags.push(etag);
        Ok(())
    }
}

impl BlobWriter for S3Writer {
    fn write<'a>(&'a mut self, sealed: &'a [u8]) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            let mut rest = sealed;
            while !rest.is_empty() {
                let take = (PART_SIZE - self.buffer.len()).min(rest.len());
                if self.buffer.len() + take > self.buffer.capacity() {
                    // Past the small first allocation: one part-sized buffer, never regrown.
                    self.buffer.reserve_exact(PART_SIZE - self.buffer.len());
                }
                self.buffer.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if self.buffer.len() == PART_SIZE {
                    self.flush_part().await?;
                }
            }
            Ok(())
        })
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), BlobError>> {
        Box::pin(async move {
            let rest = std::mem::take(&mut self.buffer);
            let result = match self.multipart.is_some() {
                // Small files: one request, visible when it succeeds.
                false => self.inner.put_whole(&self.object, Bytes::from(rest)).await,
                true => {
                    let sent = if rest.is_empty() {
                        Ok(())
                    } else {
                        self.send_part(Bytes::from(rest)).await
                    };
                    match (sent, self.multipart.as_ref()) {
                        (Ok(()), Some(multipart)) => {
                            let done = self
                                .inner
                                .complete_multipart(
                                    &self.object,
                                    &multipart.upload_id,
                                    &multipart.etags,
                                )
                                .await;
                            if done.is_ok() {
                                self.multipart = None;
                            }
                            done
                        }
                        (Ok(()), None) => Ok(()),
                        (Err(error), _) => Err(error),
                    }
                }
            };
            // On failure, dropping `self` aborts the multipart upload.
            result
        })
    }

    fn abort(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            if let Some(multipart) = self.multipart.take() {
                self.inner
                    .abort_multipart(&self.object, &multipart.upload_id)
                    .await;
            }
        })
    }
}

impl Drop for S3Writer {
    /// A writer dropped mid-upload (the client went away, or committing failed) aborts its
    /// multipart upload in the background, so no parts linger in the bucket.
    fn drop(&mut self) {
        if let Some(multipart) = self.multipart.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let inner = self.inner.clone();
            let object = std::mem::take(&mut self.object);
            runtime.spawn(async move {
                inner.abort_multipart(&object, &multipart.upload_id).await;
            });
        }
    }
}

struct S3Reader {
    body: hyper::body::Incoming,
}

impl BlobReader for S3Reader {
    fn next_piece(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, BlobError>> {
        Box::pin(async move {
            Ok(http::next_data(&mut self.body)
                .await?
                .map(|data| data.to_vec()))
        })
    }
}

impl BlobStore for S3Store {
    fn create(&self, key: &BlobKey) -> BoxFuture<'_, Result<Box<dyn BlobWriter>, BlobError>> {
        let object = self.inner.object_name(key);
        Box::pin(async move {
            Ok(Box::new(S3Writer {
                inner: self.inner.clone(),
                object,
                buffer: Vec::with_capacity(64 * 1024),
                multipart: None,
            }) as Box<dyn BlobWriter>)
        })
    }

    fn open(&self, key: &BlobKey) -> BoxFuture<'_, Result<Box<dyn BlobReader>, BlobError>> {
        let object = self.inner.object_name(key);
        Box::pin(async move {
            let url = self
                .inner
                .bucket
                .get_object(Some(&self.inner.credentials), &object)
                .sign(SIGNATURE_LIFETIME);
            let response = self
                .inner
                .send(Method::GET, &url, &[], Bytes::new())
                .await?;
            match response.status() {
                status if status.is_success() => Ok(Box::new(S3Reader {
                    body: response.into_body(),
                }) as Box<dyn BlobReader>),
                hyper::StatusCode::NOT_FOUND => Err(BlobError::Missing),
                _ => Err(http::failure("reading an attachment", response).await),
            }
        })
    }

    fn delete(&self, key: &BlobKey) -> BoxFuture<'_, Result<(), BlobError>> {
        let object = self.inner.object_name(key);
        Box::pin(async move {
            let url = self
                .inner
                .bucket
                .delete_object(Some(&self.inner.credentials), &object)
                .sign(SIGNATURE_LIFETIME);
            let response = self
                .inner
                .send(Method::DELETE, &url, &[], Bytes::new())
                .await?;
            match response.status() {
                status if status.is_success() => Ok(()),
                hyper::StatusCode::NOT_FOUND => Ok(()),
                _ => Err(http::failure("deleting an attachment", response).await),
            }
        })
    }

    fn backup_hint(&self) -> BackupHint {
        let location = &self.inner.location;
        let source = if location.prefix.is_empty() {
            format!("s3://{}", location.bucket)
        } else {
            format!("s3://{}/{}/", location.bucket, location.prefix)
        };
        BackupHint::Remote(format!(
            "copy the objects under {source} (endpoint {}) with your object store's own tools, \
             for example `aws s3 sync {source} DEST --endpoint-url {}` or `mc mirror`, after \
             the database backup: objects never change once written, so a copy taken after \
             the database has every file its rows name",
            location.endpoint, location.endpoint
        ))
    }

    /// Nothing to clear here: another instance may be uploading into the same bucket right
    /// now. Uploads a crash left unfinished are aborted by the bucket's lifecycle rule
    /// (`AbortIncompleteMultipartUpload`, see README).
    fn clear_incoming(&self) -> Result<(), BlobError> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        let plain = S3Location::parse("evidence").unwrap();
        assert_eq!(plain.bucket, "evidence");
        assert_eq!(plain.prefix, "");
        assert_eq!(plain.region, "us-east-1");
        assert_eq!(plain.endpoint, "https://s3.us-east-1.amazonaws.com");
        assert!(!plain.path_style, "AWS: virtual-host style");

        let minio = S3Location::parse(
            "speakup-evidence/nhs-board/attachments/?endpoint=http://127.0.0.1:9000&region=eu-west-2",
        )
        .unwrap();
        assert_eq!(minio.bucket, "speakup-evidence");
        assert_eq!(minio.prefix, "nhs-board/attachments");
        assert_eq!(minio.endpoint, "http://127.0.0.1:9000");
        assert_eq!(minio.region, "eu-west-2");
        assert!(minio.path_style, "a custom endpoint: path style");
        assert_eq!(
            minio.describe(),
            "s3://speakup-evidence/nhs-board/attachments at http://127.0.0.1:9000"
        );
        let virtual_host =
            S3Location::parse("b12/p?endpoint=https%3A%2F%2Fobjects.example&style=virtual-host")
                .unwrap();
        assert!(!virtual_host.path_style);
        assert_eq!(virtual_host.endpoint, "https://objects.example");

        for bad in [
            "",
            "ab",
            "Upper",
            "-bucket",
            "bucket/../x",
            "bucket/a//b",
            "bucket/a b",
            "bucket?endpoint=ftp://x",
            "bucket?endpoint=http://user:pw@host",
            "bucket?endpoint=not a url",
            "bucket?region=eu west",
            "bucket?style=sideways",
            "bucket?colour=blue",
            "bucket?region=a&region=b",
        ] {
            assert!(S3Location::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn object_names_carry_the_prefix() {
        let keys = S3Keys {
            access_key_id: "AKIDEXAMPLE".to_owned(),
            secret_access_key: Arc::new(crate::crypto::Secret::new("secret".to_owned())),
        };
        assert!(!format!("{keys:?}").contains("secret\""));
        let key = BlobKey::new("ab12", "cd34").unwrap();
        let with = S3Store::new(
            &S3Location::parse("bucket/a/b?endpoint=http://127.0.0.1:1").unwrap(),
            &keys,
        );
        assert_eq!(with.inner.object_name(&key), "a/b/ab12/cd34");
        let without = S3Store::new(
            &S3Location::parse("bucket?endpoint=http://127.0.0.1:1").unwrap(),
            &keys,
        );
        assert_eq!(without.inner.object_name(&key), "ab12/cd34");
        match with.backup_hint() {
            BackupHint::Remote(text) => {
                assert!(text.contains("s3://bucket/a/b/"), "{text}");
                assert!(!text.contains("secret"), "{text}");
            }
            BackupHint::Directory(_) => panic!("an S3 store has no directory"),
        }
    }

    #[actix_web::test]
    async fn an_unreachable_store_fails_cleanly() {
        // Nothing listens on port 1 of loopback: every operation is an error, never a panic.
        let keys = S3Keys {
            access_key_id: "AKIDEXAMPLE".to_owned(),
            secret_access_key: Arc::new(crate::crypto::Secret::new("secret".to_owned())),
        };
        let store = S3Store::new(
            &S3Location::parse("bucket?endpoint=http://127.0.0.1:1").unwrap(),
            &keys,
        );
        let key = BlobKey::new("ab", "cd").unwrap();
        assert!(matches!(store.open(&key).await, Err(BlobError::Remote(_))));
        assert!(store.delete(&key).await.is_err());
        let mut writer = store.create(&key).await.unwrap();
        writer.write(b"sealed").await.unwrap();
        assert!(writer.commit().await.is_err());
    }
}
