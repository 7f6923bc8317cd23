//! Attachments: who may add one to a case, recording it once its sealed bytes are stored, and
//! who may read it back. The bytes themselves stream through the web layer (see
//! `web::attachments`); this module hands out the key for one file at a time, in a ticket, only
//! to someone who holds the case right now.

use serde::Serialize;
use time::Date;

use super::accounts::crypto_failure;
use super::casefile::{self, RecordDraft, open_json};
use super::casework::{audit_case, open_case};
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
use crate::store::cases::{self, SealedRecord};
use crate::store::wraps::{self, Recipient};
use crate::store::{Tx, attachments};

/// Longest file name kept; longer ones are shortened, keeping the extension.
const MAX_NAME_CHARS: usize = 120;

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

/// A file name safe to show and to offer back as a download name: no path, no control
/// characters, not empty, not absurdly long.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let cleaned = if cleaned.is_empty() {
        "attachment".to_owned()
    } else {
        cleaned.to_owned()
    };
    if cleaned.chars().count() <= MAX_NAME_CHARS {
        return cleaned;
    }
    let extension = cleaned
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| ext.chars().count() <= 10)
        .unwrap_or("");
    let keep = MAX_NAME_CHARS - extension.chars().count() - 1;
    let stem: String = cleaned.chars().take(keep).collect();
    if extension.is_empty() {
        stem
    } else {
        format!("{stem}.{extension}")
    }
}

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
            let (author, author_user_id) = match &ticket.uploader {
                Uploader::Reporter => (Author::Reporter, None),
                Uploader::Handler(user) => {
                    wraps::find(tx, &case.id, &Recipient::User(user.clone()), KeyKind::Case)?
                        .ok_or(ServiceError::NotFound)?;
                    (Author::Handler, Some(user))
                }
            };
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
            if let Uploader::Handler(user) = &ticket.uploader {
                audit::append(
                    tx,
                    NewEntry {
                        actor_user_id: Some(user.as_str().to_owned()),
                        action: "attachment_added",
                        organisation_id: Some(case.organisation_id.as_str().to_owned()),
                        case_id: Some(case.id.as_str().to_owned()),
                        subject_user_id: None,
                        detail: ticket.attachment_id.as_str().to_owned(),
                    },
                    now,
                )?;
            }
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
            audit_case(
                tx,
                handler,
                &case,
                "attachment_downloaded",
                None,
                attachment_id.to_owned(),
                now,
            )?;
            Ok(ticket)
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(clean_file_name("rota.jpg"), "rota.jpg");
        assert_eq!(clean_file_name("C:\\Users\\me\\rota.jpg"), "rota.jpg");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name(".htaccess"), "htaccess");
        assert_eq!(clean_file_name("a\"b<c>\r\n.pdf"), "abc.pdf");
        assert_eq!(clean_file_name(""), "attachment");
        assert_eq!(clean_file_name("///"), "attachment");
        assert_eq!(
            clean_file_name("Übersicht Station 7.pdf"),
            "Übersicht Station 7.pdf"
        );
        let long = format!("{}.pdf", "x".repeat(300));
        let cleaned = clean_file_name(&long);
        assert_eq!(cleaned.chars().count(), MAX_NAME_CHARS);
        assert!(cleaned.ends_with(".pdf"));
    }
}
