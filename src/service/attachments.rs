//! Attachments: who may add one to a case, recording it once its sealed bytes are stored, and
//! who may read it back. The bytes themselves stream through the web layer (see
//! `web::attachments`); this module hands out the key for one file at a time, in a ticket, only
//! to someone who holds the case right now.

use serde::Serialize;
use time::Date;

use super::accounts::crypto_failure;
use super::casefile::{self, RecordDraft, open_json};
use super::casework::{audit_case, find_held_case, open_case};
use super::content::AttachmentContent;
use super::sessions::Handler;
use super::{Portal, ServiceError};
use crate::blobs::BlobKey;
use crate::crypto::{
    AttachmentBinding, AttachmentOpener, AttachmentSealer, DataKey, KeyKind, RecordKind,
};
use crate::ids::{CaseId, RecordId, UserId};
use crate::model::Author;
use crate::store::audit::{self, NewEntry};
use crate::store::cases::{self, Case, SealedRecord};
use crate::store::wraps::{self, Recipient};
use crate::store::{Tx, attachments};

/// Who is adding a file.
enum Uploader {
    Reporter,
    Handler(UserId),
}

/// Permission to store one new attachment of one case, with the key to seal it.
pub struct UploadTicket {
    case_id: CaseId,
    attachment_id: RecordId,
    key: DataKey,
    uploader: Uploader,
    /// Bytes the case may still take.
    pub room: u64,
}

impl UploadTicket {
    pub fn sealer(&self) -> Result<AttachmentSealer, ServiceError> {
        AttachmentSealer::new(&self.key, &self.binding()).map_err(crypto_failure)
    }

    pub fn blob_key(&self) -> Result<BlobKey, ServiceError> {
        BlobKey::new(self.case_id.as_str(), self.attachment_id.as_str())
            .map_err(|error| ServiceError::Internal(error.to_string()))
    }

    fn binding(&self) -> AttachmentBinding<'_> {
        AttachmentBinding::new(self.case_id.as_str(), self.attachment_id.as_str())
    }
}

/// Permission to read one attachment, with the key to open it.
pub struct DownloadTicket {
    case_id: CaseId,
    attachment_id: String,
    key: DataKey,
    pub name: String,
    pub size: u64,
}

impl DownloadTicket {
    pub fn opener(&self) -> Result<AttachmentOpener, ServiceError> {
        AttachmentOpener::new(
            &self.key,
            &AttachmentBinding::new(self.case_id.as_str(), &self.attachment_id),
        )
        .map_err(crypto_failure)
    }

    pub fn blob_key(&self) -> Result<BlobKey, ServiceError> {
        BlobKey::new(self.case_id.as_str(), &self.attachment_id)
            .map_err(|error| ServiceError::Internal(error.to_string()))
    }
}

/// Permission for a session whose key is in the browser to store one file the browser cleaned
/// and sealed (the server never has the key, so it checks only what it can: who, where, how
/// big, and the stream's shape).
pub struct BrowserUploadTicket {
    case_id: CaseId,
    attachment_id: RecordId,
    uploader: Uploader,
    /// Bytes the case may still take.
    pub room: u64,
}

impl BrowserUploadTicket {
    pub fn blob_key(&self) -> Result<BlobKey, ServiceError> {
        BlobKey::new(self.case_id.as_str(), self.attachment_id.as_str())
            .map_err(|error| ServiceError::Internal(error.to_string()))
    }
}

/// The file's description as the browser sealed it (name, size, what stripping removed, under
/// the case key, bound to the uploader, the position and the day), and the sealed file's size.
pub struct BrowserFile<'a> {
    pub position: i32,
    pub written_on: &'a str,
    pub sealed_record: &'a [u8],
    pub stored_size: u64,
}

/// A sealed description: a name of at most 120 characters and the stripping report's lines,
/// as JSON, in a nonce and tag.
const MAX_SEALED_DESCRIPTION: usize = 16 * 1024;

/// What the uploader is told once a file is stored.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentReceipt {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub removed_metadata: Vec<String>,
    /// What stays in the file and may still identify someone, in plain words.
    pub not_removed: Vec<String>,
}

/// One attachment in a mailbox or case listing.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentListing {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub from: Author,
    pub sent_on: Date,
    pub removed_metadata: Vec<String>,
}

/// A file as described by the uploader's browser and what stripping found.
pub struct StoredFile {
    pub name: String,
    pub size: u64,
    pub stored_size: u64,
    pub removed_metadata: Vec<String>,
    pub not_removed: Vec<String>,
}

fn case_full(limit: u64) -> ServiceError {
    ServiceError::TooLarge {
        code: "case_attachments_full",
        message: format!(
            "this case already holds the most attachments it can ({} MiB in all); \
             describe the rest in a message instead",
            limit / (1024 * 1024)
        ),
    }
}

/// A file name safe to show and to offer back as a download name (in `strip`, which is pure,
/// so a browser that seals a file cleans its name with the same code).
pub use crate::strip::clean_file_name;

impl Portal {
    /// Checks the mailbox session and the case's room, and hands out the key for one file.
    pub fn reporter_upload_ticket(&self, token: &str) -> Result<UploadTicket, ServiceError> {
        self.store.read(|tx| {
            let mailbox = self.mailbox_access(tx, token)?;
            let room = self.room_left(tx, &mailbox.case.id)?;
            Ok(UploadTicket {
                case_id: mailbox.case.id.clone(),
                attachment_id: RecordId::generate(),
                key: mailbox.key,
                uploader: Uploader::Reporter,
                room,
            })
        })
    }

    /// The same for a handler who holds the case (anyone else: not found).
    pub fn handler_upload_ticket(
        &self,
        handler: &Handler,
        reference: &str,
    ) -> Result<UploadTicket, ServiceError> {
        self.store.read(|tx| {
            let open = open_case(tx, handler, reference)?;
            let room = self.room_left(tx, &open.case.id)?;
            Ok(UploadTicket {
                case_id: open.case.id.clone(),
                attachment_id: RecordId::generate(),
                key: open.key,
                uploader: Uploader::Handler(handler.user.id.clone()),
                room,
            })
        })
    }

    /// For a session whose key is in the browser: may this handler store a file the browser
    /// sealed under `attachment_id` (32 lowercase hex, new in this case), and how much room is
    /// left.
    pub fn browser_upload_ticket(
        &self,
        handler: &Handler,
        reference: &str,
        attachment_id: &str,
    ) -> Result<BrowserUploadTicket, ServiceError> {
        check_browser_file_id(attachment_id)?;
        self.store.read(|tx| {
            let (case, _) = find_held_case(tx, handler, reference)?;
            self.browser_ticket(
                tx,
                &case.id,
                attachment_id,
                Uploader::Handler(handler.user.id.clone()),
            )
        })
    }

    /// The same for a reporter's mailbox session (a proof session too: the browser sealed the
    /// file under the case data key it unwrapped with the case key).
    pub fn reporter_browser_upload_ticket(
        &self,
        token: &str,
        attachment_id: &str,
    ) -> Result<BrowserUploadTicket, ServiceError> {
        check_browser_file_id(attachment_id)?;
        self.store.read(|tx| {
            let (case, _) = self.reporter_session(tx, token)?;
            self.browser_ticket(tx, &case.id, attachment_id, Uploader::Reporter)
        })
    }

    fn browser_ticket(
        &self,
        tx: &mut Tx,
        case: &CaseId,
        attachment_id: &str,
        uploader: Uploader,
    ) -> Result<BrowserUploadTicket, ServiceError> {
        // Never let a new upload land on the blob of a file already in the case.
        if attachments::belongs_to(tx, attachment_id, case)? {
            return Err(already_sent());
        }
        let room = self.room_left(tx, case)?;
        Ok(BrowserUploadTicket {
            case_id: case.clone(),
            attachment_id: RecordId::from_stored(attachment_id.to_owned()),
            uploader,
            room,
        })
    }

    /// Records a file whose sealed bytes are in the store, with the description the browser
    /// sealed, at the position it was sealed for (409 `position_taken` / `day_changed` when the
    /// browser must seal the description again). Checked again inside the transaction: the
    /// uploader still holds the case and the case has room. Audited in the same transaction.
    pub fn record_browser_attachment(
        &self,
        ticket: &BrowserUploadTicket,
        file: &BrowserFile<'_>,
    ) -> Result<i32, ServiceError> {
        if file.sealed_record.len() <= 40 || file.sealed_record.len() > MAX_SEALED_DESCRIPTION {
            return Err(ServiceError::invalid(
                "invalid_sealed",
                "the sealed description is empty or too long",
            ));
        }
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        if file.written_on != casefile::day_text(today) {
            return Err(ServiceError::Conflict {
                code: "day_changed",
                message: "the day changed while the file was sent; it is sent again for today"
                    .to_owned(),
            });
        }
        self.store.write(|tx| {
            let case = cases::find(tx, &ticket.case_id)?.ok_or(ServiceError::NotFound)?;
            let (author, author_user_id) = still_allowed(tx, &case, &ticket.uploader)?;
            cases::lock(tx, &case.id)?;
            let limit = self.settings.max_case_attachment_bytes;
            let used = attachments::total_for_case(tx, &case.id)?;
            if used.saturating_add(file.stored_size) > limit {
                return Err(case_full(limit));
            }
            let seq = cases::take_record_seq(tx, &case.id)?;
            if seq != file.position {
                return Err(ServiceError::Conflict {
                    code: "position_taken",
                    message: "something was added to the case meanwhile; the file's description \
                              is sealed again"
                        .to_owned(),
                });
            }
            cases::insert_record(
                tx,
                &cases::NewRecord {
                    id: &ticket.attachment_id,
                    case_id: &case.id,
                    seq,
                    kind: RecordKind::Attachment.as_str(),
                    author,
                    author_user_id,
                    event_id: None,
                    sealed: file.sealed_record,
                    created_on: today,
                    aad_version: casefile::RECORD_AAD_VERSION,
                },
            )
            .map_err(|error| match ServiceError::from(error) {
                // Two uploads of one id racing: the first is recorded, and its blob must stay.
                ServiceError::Conflict { .. } => already_sent(),
                other => other,
            })?;
            attachments::insert(tx, &ticket.attachment_id, &case.id, file.stored_size, today)?;
            after_upload(
                tx,
                &ticket.uploader,
                &case,
                format!("{}; sealed in the browser", ticket.attachment_id),
                &self.settings.public_url,
                now,
            )?;
            Ok(seq)
        })
    }

    /// For a session whose key is in the browser: where a file of a case it holds is stored
    /// (sealed; the browser opens it). Audited as a download, in the same transaction.
    pub fn browser_download(
        &self,
        handler: &Handler,
        reference: &str,
        attachment_id: &str,
    ) -> Result<BlobKey, ServiceError> {
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let (case, _) = find_held_case(tx, handler, reference)?;
            if !attachments::belongs_to(tx, attachment_id, &case.id)? {
                return Err(ServiceError::NotFound);
            }
            audit_download(
                tx,
                handler,
                &case,
                format!("{attachment_id}; opened in the browser"),
                now,
            )?;
            BlobKey::new(case.id.as_str(), attachment_id)
                .map_err(|error| ServiceError::Internal(error.to_string()))
        })
    }

    /// For a reporter's mailbox session (a proof session too): where a file of the case is
    /// stored, sealed, for the browser to open with the case data key. Like the server-side
    /// download of a reporter, not audited: the reporter's own actions are recorded by date only.
    pub fn reporter_browser_download(
        &self,
        token: &str,
        attachment_id: &str,
    ) -> Result<BlobKey, ServiceError> {
        self.store.read(|tx| {
            let (case, _) = self.reporter_session(tx, token)?;
            if !attachments::belongs_to(tx, attachment_id, &case.id)? {
                return Err(ServiceError::NotFound);
            }
            BlobKey::new(case.id.as_str(), attachment_id)
                .map_err(|error| ServiceError::Internal(error.to_string()))
        })
    }

    fn room_left(&self, tx: &mut Tx, case: &CaseId) -> Result<u64, ServiceError> {
        let limit = self.settings.max_case_attachment_bytes;
        let used = attachments::total_for_case(tx, case)?;
        match limit.checked_sub(used) {
            Some(room) if room > 0 => Ok(room),
            _ => Err(case_full(limit)),
        }
    }

    /// Records a file whose sealed bytes are already in the store. Checks again, inside the
    /// transaction, that the uploader still holds the case and that the case has room: two
    /// uploads racing, or a grant revoked mid-upload, must not get past the limits.
    pub fn record_attachment(
        &self,
        ticket: &UploadTicket,
        file: StoredFile,
    ) -> Result<AttachmentReceipt, ServiceError> {
        let today = self.clock.today();
        let now = self.clock.now_utc_naive();
        let name = clean_file_name(&file.name);
        let content = AttachmentContent {
            name: name.clone(),
            size: file.size,
            removed_metadata: file.removed_metadata.clone(),
        };
        self.store.write(|tx| {
            let case = cases::find(tx, &ticket.case_id)?.ok_or(ServiceError::NotFound)?;
            let (author, author_user_id) = still_allowed(tx, &case, &ticket.uploader)?;
            let limit = self.settings.max_case_attachment_bytes;
            let used = attachments::total_for_case(tx, &case.id)?;
            if used.saturating_add(file.stored_size) > limit {
                return Err(case_full(limit));
            }
            casefile::append_sealed(
                tx,
                &ticket.key,
                &RecordDraft {
                    id: &ticket.attachment_id,
                    case_id: &case.id,
                    kind: RecordKind::Attachment,
                    author,
                    author_user_id,
                    event_id: None,
                    written_on: today,
                },
                &content,
            )?;
            attachments::insert(tx, &ticket.attachment_id, &case.id, file.stored_size, today)?;
            after_upload(
                tx,
                &ticket.uploader,
                &case,
                ticket.attachment_id.as_str().to_owned(),
                &self.settings.public_url,
                now,
            )?;
            Ok(())
        })?;
        Ok(AttachmentReceipt {
            id: ticket.attachment_id.as_str().to_owned(),
            name,
            size: file.size,
            removed_metadata: file.removed_metadata,
            not_removed: file.not_removed,
        })
    }

    /// The reporter's key to one attachment of their case.
    pub fn reporter_download_ticket(
        &self,
        token: &str,
        attachment_id: &str,
    ) -> Result<DownloadTicket, ServiceError> {
        self.store.read(|tx| {
            let mailbox = self.mailbox_access(tx, token)?;
            download_ticket(tx, &mailbox.case.id, mailbox.key, attachment_id)
        })
    }

    /// A holder's key to one attachment; audited in the same transaction.
    pub fn handler_download_ticket(
        &self,
        handler: &Handler,
        reference: &str,
        attachment_id: &str,
    ) -> Result<DownloadTicket, ServiceError> {
        let now = self.clock.now_utc_naive();
        self.store.write(|tx| {
            let open = open_case(tx, handler, reference)?;
            let case = open.case.clone();
            let ticket = download_ticket(tx, &case.id, open.key, attachment_id)?;
            audit_download(tx, handler, &case, attachment_id.to_owned(), now)?;
            Ok(ticket)
        })
    }
}

/// The file's id is taken by a file already in the case (its blob is that file's: never removed
/// on this answer).
pub fn already_sent() -> ServiceError {
    ServiceError::Conflict {
        code: "already_sent",
        message: "a file with that id is already in this case".to_owned(),
    }
}

/// A browser chooses a new file's id (it binds the file's key and its description to it): 32
/// lowercase hex, like the server's own ids, so it can never name another path in the store.
fn check_browser_file_id(attachment_id: &str) -> Result<(), ServiceError> {
    let id_ok = attachment_id.len() == 32
        && attachment_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if id_ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "invalid_id",
            "a file id is 32 lowercase hexadecimal characters",
        ))
    }
}

/// Checked again when a file is recorded, for either way of sealing it: a handler must still
/// hold the case (a grant revoked mid-upload loses the file); the reporter's session was checked
/// when the upload began. Answers the author the record is bound to.
fn still_allowed<'a>(
    tx: &mut Tx,
    case: &Case,
    uploader: &'a Uploader,
) -> Result<(Author, Option<&'a UserId>), ServiceError> {
    match uploader {
        Uploader::Reporter => Ok((Author::Reporter, None)),
        Uploader::Handler(user) => {
            wraps::find(tx, &case.id, &Recipient::User(user.clone()), KeyKind::Case)?
                .ok_or(ServiceError::NotFound)?;
            Ok((Author::Handler, Some(user)))
        }
    }
}

/// A handler's upload is audited in the transaction that records it; a reporter's is not (what
/// the reporter does is recorded by date only, and a file adds nothing the record does not).
/// What follows a new file in its transaction: a handler's is audited; a reporter's (never
/// audited: the reporter's own actions are kept by date only) tells the people holding the case,
/// as a reporter's message does, in a notice that names only the case.
fn after_upload(
    tx: &mut Tx,
    uploader: &Uploader,
    case: &Case,
    detail: String,
    public_url: &str,
    now: time::PrimitiveDateTime,
) -> Result<(), ServiceError> {
    match uploader {
        Uploader::Handler(user) => {
            audit::append(
                tx,
                NewEntry {
                    actor_user_id: Some(user.as_str().to_owned()),
                    action: "attachment_added",
                    organisation_id: Some(case.organisation_id.as_str().to_owned()),
                    case_id: Some(case.id.as_str().to_owned()),
                    subject_user_id: None,
                    detail,
                },
                now,
            )?;
        }
        Uploader::Reporter => {
            super::notices::tell_holders(
                tx,
                &case.id,
                &crate::notify::Notice::ReporterFile {
                    reference: case.reference.clone(),
                },
                None,
                public_url,
                now,
            )?;
        }
    }
    Ok(())
}

fn download_ticket(
    tx: &mut Tx,
    case: &CaseId,
    key: DataKey,
    attachment_id: &str,
) -> Result<DownloadTicket, ServiceError> {
    if !attachments::belongs_to(tx, attachment_id, case)? {
        return Err(ServiceError::NotFound);
    }
    let record = cases::records(tx, case, &[RecordKind::Attachment.as_str()])?
        .into_iter()
        .find(|record| record.id.as_str() == attachment_id)
        .ok_or(ServiceError::NotFound)?;
    let content: AttachmentContent = open_json(&key, &record, RecordKind::Attachment)?;
    Ok(DownloadTicket {
        case_id: case.clone(),
        attachment_id: attachment_id.to_owned(),
        key,
        name: content.name,
        size: content.size,
    })
}

/// The attachments of a case, oldest first, opened with the case key.
pub(super) fn listing(
    tx: &mut Tx,
    case: &CaseId,
    key: &DataKey,
) -> Result<Vec<AttachmentListing>, ServiceError> {
    let records = cases::records(tx, case, &[RecordKind::Attachment.as_str()])?;
    records.iter().map(|record| listed(record, key)).collect()
}

fn listed(record: &SealedRecord, key: &DataKey) -> Result<AttachmentListing, ServiceError> {
    let content: AttachmentContent = open_json(key, record, RecordKind::Attachment)?;
    Ok(AttachmentListing {
        id: record.id.as_str().to_owned(),
        name: content.name,
        size: content.size,
        from: match record.author {
            Author::Reporter => Author::Reporter,
            Author::Handler | Author::System => Author::Handler,
        },
        sent_on: record.created_on,
        removed_metadata: content.removed_metadata,
    })
}

/// A holder fetched a file (opened on the server, or sealed for their browser): audited in the
/// fetch's transaction.
fn audit_download(
    tx: &mut Tx,
    handler: &Handler,
    case: &crate::store::cases::Case,
    detail: String,
    now: time::PrimitiveDateTime,
) -> Result<(), ServiceError> {
    audit_case(
        tx,
        handler,
        case,
        "attachment_downloaded",
        None,
        detail,
        now,
    )
}
