//! Streams an uploaded file through metadata stripping and sealing into the attachment store,
//! and a stored one back out, one chunk at a time: an upload or download never holds more than
//! a few chunks of a file in memory, whatever its size.

use actix_multipart::{Field, Multipart};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    HeaderValue,
};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::csrf::CsrfToken;
use super::error::Problem;
use crate::blobs::{BlobReader, BlobWriter};
use crate::crypto::{AttachmentOpener, AttachmentSealer};
use crate::service::attachments::{
    AttachmentReceipt, BrowserUploadTicket, DownloadTicket, StoredFile, UploadTicket,
};
use crate::service::{Portal, ServiceError};
use crate::strip::{StripError, StripReport, Stripper};

/// Multipart framing and small fields around the file.
const FORM_OVERHEAD: u64 = 64 * 1024;
const MAX_SMALL_FIELD: usize = 256;

fn mib(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

pub fn file_too_large(limit: u64) -> ServiceError {
    ServiceError::TooLarge {
        code: "file_too_large",
        message: format!(
            "that file is larger than {} MiB, the most one attachment can be; send a smaller \
             file, or split it into parts",
            mib(limit)
        ),
    }
}

fn no_file() -> ServiceError {
    ServiceError::invalid(
        "file_missing",
        "choose a file to attach (form field \"file\")",
    )
}

fn csrf_failed() -> ServiceError {
    ServiceError::Unauthorized {
        code: "csrf_failed",
        message: "this form has expired; go back, reload the page and try again".to_owned(),
    }
}

fn upload_failed(error: impl std::fmt::Display) -> ServiceError {
    ServiceError::invalid(
        "upload_incomplete",
        format!("the file did not arrive completely ({error}); please try again"),
    )
}

fn stripping_failed(error: StripError) -> ServiceError {
    ServiceError::invalid("file_damaged", error.to_string())
}

fn store_failed(error: crate::blobs::BlobError) -> ServiceError {
    ServiceError::Internal(error.to_string())
}

/// Refuses a body that announces it is too large before reading any of it, so a client that
/// sends Content-Length gets a clean 413 instead of a connection cut mid-upload.
pub fn check_declared_length(request: &HttpRequest, limit: u64) -> Result<(), ServiceError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit.saturating_add(FORM_OVERHEAD) => Err(file_too_large(limit)),
        _ => Ok(()),
    }
}

/// What an HTML form sent besides the file.
pub enum FormCheck<'a> {
    /// JSON API: authenticated by bearer token, no CSRF field.
    None,
    /// HTML form: the `csrf` field must match and must come before the file.
    Csrf(&'a CsrfToken),
}

/// Reads the multipart body: the `csrf` field (for forms) and the `file` field, which is
/// stripped, sealed and stored as it arrives. Returns the receipt once the file is recorded.
pub async fn receive(
    portal: &Portal,
    ticket: UploadTicket,
    mut multipart: Multipart,
    check: FormCheck<'_>,
) -> Result<AttachmentReceipt, ServiceError> {
    let mut csrf_ok = matches!(check, FormCheck::None);
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(upload_failed)?;
        let name = field.name().unwrap_or("").to_owned();
        match (name.as_str(), &check) {
            ("csrf", FormCheck::Csrf(token)) => {
                let value = small_field(&mut field).await?;
                csrf_ok = token.verify(&value).is_ok();
            }
            ("file", _) => {
                if !csrf_ok {
                    return Err(csrf_failed());
                }
                let file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .unwrap_or("")
                    .to_owned();
                let file = store_field(portal, &ticket, &mut field, file_name).await?;
                return finish_record(portal, ticket, file).await;
            }
            _ => {
                // Unknown fields are read and dropped, bounded like any small field.
                small_field(&mut field).await?;
            }
        }
    }
    Err(no_file())
}

/// The fields a browser session sends with a file it sealed, before the file.
#[derive(Default)]
struct SealedFields {
    id: String,
    position: String,
    written_on: String,
    record: String,
}

/// A sealed description is small: a name, a size and the stripping report.
const MAX_RECORD_FIELD: usize = 24 * 1024;

/// A file sealed in a browser, once recorded: its id (the browser's choice) and the position
/// its description took.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SealedFileStored {
    pub id: String,
    pub position: i32,
}

/// Reads a file a browser cleaned and sealed (issue 14), for a handler's console or a
/// reporter's mailbox: the `id`, `position`, `written_on` and `record` (the sealed description,
/// base64) fields (and `csrf`, for the console's form), then `file`, the sealed stream, which
/// goes to the store as it arrives. `ticket` says whether this uploader may add a file under
/// that id. The server cannot open it; it checks the size (never more than the largest file
/// sealed, nor than the case's room) and the stream's shape (header, chunk structure), then
/// records it.
pub async fn receive_sealed_file<F>(
    portal: &Portal,
    mut multipart: Multipart,
    check: FormCheck<'_>,
    ticket: F,
) -> Result<SealedFileStored, ServiceError>
where
    F: FnOnce(&Portal, &str) -> Result<BrowserUploadTicket, ServiceError> + Send + 'static,
{
    let mut csrf_ok = matches!(check, FormCheck::None);
    let mut fields = SealedFields::default();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(upload_failed)?;
        let name = field.name().unwrap_or("").to_owned();
        match (name.as_str(), &check) {
            ("csrf", FormCheck::Csrf(csrf)) => {
                csrf_ok = csrf.verify(&small_field(&mut field).await?).is_ok();
            }
            ("id", _) => fields.id = small_field(&mut field).await?,
            ("position", _) => fields.position = small_field(&mut field).await?,
            ("written_on", _) => fields.written_on = small_field(&mut field).await?,
            ("record", _) => fields.record = bounded_field(&mut field, MAX_RECORD_FIELD).await?,
            ("file", _) => {
                if !csrf_ok {
                    return Err(csrf_failed());
                }
                let position = fields.position.trim().parse::<i32>().map_err(|_| {
                    ServiceError::invalid("invalid_position", "the position is a whole number")
                })?;
                let record = data_encoding::BASE64
                    .decode(fields.record.trim().as_bytes())
                    .map_err(|_| {
                        ServiceError::invalid(
                            "invalid_sealed",
                            "the sealed description (field \"record\", before the file) is not base64",
                        )
                    })?;
                let worker = portal.clone();
                let id = fields.id.trim().to_owned();
                let asked = id.clone();
                let ticket = super::blocking(move || ticket(&worker, &asked)).await?;
                let stored_size = store_sealed(portal, &ticket, &mut field).await?;
                let blob_key = ticket.blob_key()?;
                let worker = portal.clone();
                let written_on = fields.written_on.trim().to_owned();
                let recorded = super::blocking(move || {
                    worker.record_browser_attachment(
                        &ticket,
                        &crate::service::attachments::BrowserFile {
                            position,
                            written_on: &written_on,
                            sealed_record: &record,
                            stored_size,
                        },
                    )
                })
                .await;
                match &recorded {
                    // Another upload of this id got there first: the blob is now that file's.
                    Err(ServiceError::Conflict {
                        code: "already_sent",
                        ..
                    }) => {}
                    // The row was never written: the sealed blob must not linger.
                    Err(_) => {
                        let _ = portal.blobs.delete(&blob_key).await;
                    }
                    Ok(_) => {}
                }
                return recorded.map(|position| SealedFileStored { id, position });
            }
            _ => {
                small_field(&mut field).await?;
            }
        }
    }
    Err(no_file())
}

/// Streams a sealed file into the store, checking its size and shape as it goes; the blob
/// becomes visible only once it is whole and plausible.
async fn store_sealed(
    portal: &Portal,
    ticket: &BrowserUploadTicket,
    field: &mut Field,
) -> Result<u64, ServiceError> {
    let most = crate::crypto::attachment_sealed_len(portal.settings.max_attachment_bytes);
    let blob_key = ticket.blob_key()?;
    // The id is the browser's choice: a blob already under it (a file whose row is missing, or
    // an upload of the same id that finished first) is never written over.
    match portal.blobs.open(&blob_key).await {
        Ok(_) => return Err(crate::service::attachments::already_sent()),
        Err(crate::blobs::BlobError::Missing) => {}
        Err(other) => return Err(store_failed(other)),
    }
    let mut writer = portal.blobs.create(&blob_key).await.map_err(store_failed)?;
    let mut stored: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(crate::crypto::ATTACHMENT_HEADER_LEN);
    let outcome: Result<(), ServiceError> = async {
        while let Some(piece) = field.next().await {
            let piece = piece.map_err(upload_failed)?;
            stored += piece.len() as u64;
            if stored > most {
                return Err(file_too_large(portal.settings.max_attachment_bytes));
            }
            if stored > ticket.room {
                return Err(case_full_now());
            }
            if head.len() < crate::crypto::ATTACHMENT_HEADER_LEN {
                let take = (crate::crypto::ATTACHMENT_HEADER_LEN - head.len()).min(piece.len());
                head.extend_from_slice(&piece[..take]);
                if !crate::crypto::starts_like_sealed_attachment(&head) {
                    return Err(not_sealed());
                }
            }
            writer.write(&piece).await.map_err(store_failed)?;
        }
        if !crate::crypto::is_attachment_sealed_len(stored) {
            return Err(not_sealed());
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => {
            writer.commit().await.map_err(store_failed)?;
            Ok(stored)
        }
        Err(error) => {
            writer.abort().await;
            Err(error)
        }
    }
}

fn not_sealed() -> ServiceError {
    ServiceError::invalid(
        "not_sealed",
        "the file is not a sealed attachment stream; it must be sealed in the browser first",
    )
}

async fn bounded_field(field: &mut Field, limit: usize) -> Result<String, ServiceError> {
    let mut value = Vec::new();
    while let Some(piece) = field.next().await {
        let piece = piece.map_err(upload_failed)?;
        if value.len() + piece.len() > limit {
            return Err(ServiceError::invalid(
                "field_too_long",
                "a field of this form is longer than it can be",
            ));
        }
        value.extend_from_slice(&piece);
    }
    Ok(String::from_utf8_lossy(&value).into_owned())
}

/// A stored file sent as it is stored, sealed, for a browser that opens it itself: never
/// shown inline, never sniffed, never cached.
pub async fn download_sealed(
    portal: &Portal,
    blob_key: crate::blobs::BlobKey,
) -> Result<HttpResponse, Problem> {
    let reader = portal.blobs.open(&blob_key).await.map_err(|error| {
        Problem::from(&match error {
            crate::blobs::BlobError::Missing => ServiceError::NotFound,
            other => store_failed(other),
        })
    })?;
    let body = futures_util::stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        match reader.next_piece().await {
            Ok(Some(piece)) => Some((Ok::<_, actix_web::Error>(Bytes::from(piece)), Some(reader))),
            Ok(None) => None,
            Err(error) => Some((Err(stream_error(error)), None)),
        }
    });
    Ok(HttpResponse::build(StatusCode::OK)
        .insert_header((header::CONTENT_TYPE, "application/octet-stream"))
        .insert_header(content_disposition("sealed"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ))
        .streaming(body))
}

async fn finish_record(
    portal: &Portal,
    ticket: UploadTicket,
    file: StoredFile,
) -> Result<AttachmentReceipt, ServiceError> {
    let blob_key = ticket.blob_key()?;
    let worker = portal.clone();
    let recorded = super::blocking(move || worker.record_attachment(&ticket, file)).await;
    if recorded.is_err() {
        // The row was never written: the sealed blob must not linger.
        let _ = portal.blobs.delete(&blob_key).await;
    }
    recorded
}

async fn small_field(field: &mut Field) -> Result<String, ServiceError> {
    let mut value = Vec::new();
    while let Some(piece) = field.next().await {
        let piece = piece.map_err(upload_failed)?;
        if value.len() + piece.len() > MAX_SMALL_FIELD {
            return Err(ServiceError::invalid(
                "unexpected_field",
                "the form sent a field this page does not expect",
            ));
        }
        value.extend_from_slice(&piece);
    }
    Ok(String::from_utf8_lossy(&value).into_owned())
}

/// The pipeline: field → stripper → sealer → store writer. The blob only becomes visible on
/// commit; any failure or limit aborts it.
async fn store_field(
    portal: &Portal,
    ticket: &UploadTicket,
    field: &mut Field,
    name: String,
) -> Result<StoredFile, ServiceError> {
    let blob_key = ticket.blob_key()?;
    let mut writer = portal.blobs.create(&blob_key).await.map_err(store_failed)?;
    let limits = Limits {
        file: portal.settings.max_attachment_bytes,
        room: ticket.room,
    };
    let outcome = pump(field, ticket.sealer()?, writer.as_mut(), limits).await;
    match outcome {
        Ok((size, stored_size, report)) => {
            writer.commit().await.map_err(store_failed)?;
            Ok(StoredFile {
                name,
                size,
                stored_size,
                removed_metadata: report.removed,
                not_removed: report.not_removed,
            })
        }
        Err(error) => {
            writer.abort().await;
            Err(error)
        }
    }
}

#[derive(Clone, Copy)]
struct Limits {
    file: u64,
    room: u64,
}

async fn pump(
    field: &mut Field,
    mut sealer: AttachmentSealer,
    writer: &mut dyn BlobWriter,
    limits: Limits,
) -> Result<(u64, u64, StripReport), ServiceError> {
    let mut stripper = Stripper::new();
    let mut clean = Vec::new();
    let mut sealed = Vec::new();
    let mut received: u64 = 0;
    let mut kept: u64 = 0;
    let mut stored: u64 = 0;
    while let Some(piece) = field.next().await {
        let piece = piece.map_err(upload_failed)?;
        received += piece.len() as u64;
        if received > limits.file {
            return Err(file_too_large(limits.file));
        }
        clean.clear();
        stripper
            .push(&piece, &mut clean)
            .map_err(stripping_failed)?;
        kept += clean.len() as u64;
        sealed.clear();
        sealer.push(&clean, &mut sealed).map_err(crypto_error)?;
        stored += sealed.len() as u64;
        if stored > limits.room {
            return Err(case_full_now());
        }
        writer.write(&sealed).await.map_err(store_failed)?;
    }
    clean.clear();
    let report = stripper.finish(&mut clean).map_err(stripping_failed)?;
    kept += clean.len() as u64;
    sealed.clear();
    sealer.push(&clean, &mut sealed).map_err(crypto_error)?;
    sealer.finish(&mut sealed).map_err(crypto_error)?;
    stored += sealed.len() as u64;
    if stored > limits.room {
        return Err(case_full_now());
    }
    writer.write(&sealed).await.map_err(store_failed)?;
    Ok((kept, stored, report))
}

fn case_full_now() -> ServiceError {
    ServiceError::TooLarge {
        code: "case_attachments_full",
        message: "this file does not fit: the case holds the most attachments it can".to_owned(),
    }
}

fn crypto_error(error: crate::crypto::CryptoError) -> ServiceError {
    ServiceError::Internal(format!("sealing attachment: {error}"))
}

/// The download response: always a download (never shown inline), never sniffed, never cached,
/// streamed from the store through the opener.
pub async fn download(portal: &Portal, ticket: DownloadTicket) -> Result<HttpResponse, Problem> {
    let blob_key = ticket.blob_key().map_err(|e| Problem::from(&e))?;
    let reader = portal.blobs.open(&blob_key).await.map_err(|error| {
        Problem::from(&match error {
            crate::blobs::BlobError::Missing => ServiceError::NotFound,
            other => store_failed(other),
        })
    })?;
    let opener = ticket.opener().map_err(|e| Problem::from(&e))?;
    let body = OpenedStream {
        reader,
        opener: Some(opener),
    };
    let mut response = HttpResponse::build(StatusCode::OK);
    response
        .insert_header((header::CONTENT_TYPE, "application/octet-stream"))
        .insert_header(content_disposition(&ticket.name))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        ));
    Ok(response
        .no_chunking(ticket.size)
        .streaming(body.into_stream()))
}

/// `attachment; filename="ascii-only"; filename*=UTF-8''…`: old clients get a plain ASCII
/// name, current ones the real one; neither can break out of the header.
fn content_disposition(name: &str) -> ContentDisposition {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: name.as_bytes().to_vec(),
            }),
        ],
    }
}

struct OpenedStream {
    reader: Box<dyn BlobReader>,
    opener: Option<AttachmentOpener>,
}

impl OpenedStream {
    fn into_stream(
        self,
    ) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> + 'static {
        futures_util::stream::unfold(self, |mut state| async move {
            let opener = state.opener.as_mut()?;
            let mut plain = Vec::new();
            loop {
                match state.reader.next_piece().await {
                    Ok(Some(piece)) => {
                        if let Err(error) = opener.push(&piece, &mut plain) {
                            return Some((Err(stream_error(error)), finished(state)));
                        }
                        if !plain.is_empty() {
                            return Some((Ok(Bytes::from(plain)), state));
                        }
                    }
                    Ok(None) => {
                        let opener = state.opener.take()?;
                        return Some(match opener.finish(&mut plain) {
                            Ok(()) => (Ok(Bytes::from(plain)), state),
                            Err(error) => (Err(stream_error(error)), state),
                        });
                    }
                    Err(error) => {
                        return Some((Err(stream_error(error)), finished(state)));
                    }
                }
            }
        })
    }
}

fn finished(mut state: OpenedStream) -> OpenedStream {
    state.opener = None;
    state
}

/// A stored file that fails to open mid-way (tampered or cut short in the store): the
/// download is aborted rather than completed with missing bytes.
fn stream_error(error: impl std::fmt::Display) -> actix_web::Error {
    tracing::error!(error = %error, "attachment failed to open while downloading");
    actix_web::error::ErrorInternalServerError("attachment could not be opened")
}

/// An attachment as a page lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AttachmentView {
    pub name: String,
    pub href: String,
    pub size: String,
    pub from_reporter: bool,
    pub sent_on: String,
    pub removed: Vec<String>,
}

pub fn views(
    listing: &[crate::service::attachments::AttachmentListing],
    href: impl Fn(&str) -> String,
) -> Vec<AttachmentView> {
    listing
        .iter()
        .map(|file| AttachmentView {
            name: file.name.clone(),
            href: href(&file.id),
            size: human_size(file.size),
            from_reporter: file.from == crate::model::Author::Reporter,
            sent_on: crate::web::reporter::long_date(file.sent_on),
            removed: file.removed_metadata.clone(),
        })
        .collect()
}

/// "812 bytes", "4.2 KB", "17.0 MB": decimal units, as people read file sizes.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(4_200), "4.2 KB");
        assert_eq!(human_size(52_428_800), "52.4 MB");
        assert_eq!(human_size(3_000_000_000), "3.0 GB");
    }

    #[test]
    fn download_names_cannot_break_the_header() {
        let header = content_disposition("a\";b\r\nX: y.pdf");
        let text = header.to_string();
        assert!(text.starts_with("attachment;"), "{text}");
        assert!(!text.contains('\r') && !text.contains('\n'), "{text}");
        assert!(text.contains("filename=\"a__b__X_ y.pdf\""), "{text}");
    }
}
