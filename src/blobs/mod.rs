//! Where sealed attachment bytes live: behind one trait, so the local file system (the default)
//! and S3-compatible object storage are interchangeable. Everything that reaches a store is
//! already sealed; a store never sees plaintext or keys.
//!
//! Writes stream: a [`BlobWriter`] takes the sealed stream piece by piece and only makes the
//! blob visible on [`BlobWriter::commit`], so a failed or refused upload leaves nothing behind.

mod http;
mod local;
mod s3;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

pub use local::LocalStore;
pub use s3::{PART_SIZE as S3_PART_SIZE, S3Keys, S3Location, S3Store};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("attachment store: {0}")]
    Io(#[from] std::io::Error),
    #[error("attachment store: {0}")]
    Remote(String),
    #[error("attachment store: no such blob")]
    Missing,
    #[error("attachment store setting: {0}")]
    Setting(String),
}

/// Names one blob: the case it belongs to and the attachment id. Both are the server's own
/// random hex ids; anything else is refused so a key can never walk out of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobKey {
    case_id: String,
    attachment_id: String,
}

impl BlobKey {
    pub fn new(case_id: &str, attachment_id: &str) -> Result<BlobKey, BlobError> {
        let safe = |id: &str| {
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
        };
        if !safe(case_id) || !safe(attachment_id) {
            return Err(BlobError::Setting("blob ids must be hex".to_owned()));
        }
        Ok(BlobKey {
            case_id: case_id.to_owned(),
            attachment_id: attachment_id.to_owned(),
        })
    }

    pub fn case_id(&self) -> &str {
        &self.case_id
    }

    pub fn attachment_id(&self) -> &str {
        &self.attachment_id
    }

    /// `case/attachment`, the relative path or object name.
    pub fn object_name(&self) -> String {
        format!("{}/{}", self.case_id, self.attachment_id)
    }
}

/// A blob being written. Dropping it without `commit` must leave nothing visible.
pub trait BlobWriter: Send {
    fn write<'a>(&'a mut self, sealed: &'a [u8]) -> BoxFuture<'a, Result<(), BlobError>>;
    /// Makes the blob visible under its key, atomically.
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), BlobError>>;
    /// Removes whatever was written so far.
    fn abort(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// A blob being read, in pieces of bounded size.
pub trait BlobReader: Send {
    /// The next piece, or `None` at the end.
    fn next_piece(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, BlobError>>;
}

pub trait BlobStore: Send + Sync {
    fn create(&self, key: &BlobKey) -> BoxFuture<'_, Result<Box<dyn BlobWriter>, BlobError>>;
    fn open(&self, key: &BlobKey) -> BoxFuture<'_, Result<Box<dyn BlobReader>, BlobError>>;
    /// Removes one blob; removing a missing blob is not an error.
    fn delete(&self, key: &BlobKey) -> BoxFuture<'_, Result<(), BlobError>>;
    /// What an operator must copy to back the store up.
    fn backup_hint(&self) -> BackupHint;
    /// Removes uploads a previous run left unfinished; called once at start.
    fn clear_incoming(&self) -> Result<(), BlobError>;
}

/// Copies a local store's committed blobs (not unfinished uploads) to `destination`, which
/// must not exist yet. Blobs never change once committed, and each is committed before its
/// database row is written, so copying after the database snapshot gives every row its blob.
/// Returns the number of files copied.
pub fn copy_directory(source: &Path, destination: &Path) -> Result<u64, BlobError> {
    if destination.exists() {
        return Err(BlobError::Setting(format!(
            "{} already exists; choose a new name",
            destination.display()
        )));
    }
    std::fs::create_dir_all(destination)?;
    each_blob(source, |case, blob| {
        let target = destination.join(case);
        std::fs::create_dir_all(&target)?;
        std::fs::copy(blob, target.join(file_name(blob)?))?;
        Ok(true)
    })
}

/// Puts back into the attachment directory `destination` the files of a backup's copy that
/// it lacks (files never change once written, so one already there is the same file). Each
/// file is written beside its target and renamed into place. Files added after the backup are
/// left alone: the restored database no longer refers to them. Returns how many were put back.
pub fn restore_directory(source: &Path, destination: &Path) -> Result<u64, BlobError> {
    each_blob(source, |case, blob| {
        let directory = destination.join(case);
        let target = directory.join(file_name(blob)?);
        if target.exists() {
            return Ok(false);
        }
        std::fs::create_dir_all(&directory)?;
        let staging = directory.join(format!(".{}.restoring", crate::crypto::random_id()));
        std::fs::copy(blob, &staging)?;
        std::fs::File::open(&staging)?.sync_all()?;
        std::fs::rename(&staging, &target)?;
        Ok(true)
    })
}

fn file_name(path: &Path) -> Result<&std::ffi::OsStr, BlobError> {
    path.file_name()
        .ok_or_else(|| BlobError::Setting(format!("{} has no file name", path.display())))
}

/// Calls `visit(case directory name, file)` for each file of a directory laid out as the local
/// store lays it out (hidden entries skipped); counts the visits that answered true. A missing
/// `source` has no files.
fn each_blob(
    source: &Path,
    mut visit: impl FnMut(&std::ffi::OsStr, &Path) -> Result<bool, BlobError>,
) -> Result<u64, BlobError> {
    let mut counted = 0;
    let cases = match std::fs::read_dir(source) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error.into()),
    };
    for case in cases {
        let case = case?;
        let name = case.file_name();
        if !case.file_type()?.is_dir() || name.to_string_lossy().starts_with('.') {
            continue;
        }
        for blob in std::fs::read_dir(case.path())? {
            let blob = blob?;
            if blob.file_type()?.is_file() && visit(&name, &blob.path())? {
                counted += 1;
            }
        }
    }
    Ok(counted)
}

pub enum BackupHint {
    /// Copy this directory.
    Directory(PathBuf),
    /// Object storage: say what to copy; the server cannot do it for you.
    Remote(String),
}

/// The store named by the `attachment_store` setting. Nothing is touched until first use.
pub fn open_store(setting: &AttachmentStoreSetting) -> Arc<dyn BlobStore> {
    match setting {
        AttachmentStoreSetting::Directory(dir) => Arc::new(LocalStore::new(dir)),
        AttachmentStoreSetting::S3 { location, keys } => Arc::new(S3Store::new(location, keys)),
    }
}

/// The parsed `attachment_store` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentStoreSetting {
    Directory(PathBuf),
    S3 {
        location: Box<S3Location>,
        keys: S3Keys,
    },
}

impl AttachmentStoreSetting {
    /// `""` → `DATA_DIR/attachments`; `file://DIR` → DIR;
    /// `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&style=path|virtual-host]` with the access key
    /// pair from the `s3_access_key_id` and `s3_secret_access_key` settings.
    pub fn parse(
        text: &str,
        data_dir: &Path,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Result<Self, BlobError> {
        let text = text.trim();
        let (access_key_id, secret_access_key) = (access_key_id.trim(), secret_access_key.trim());
        if let Some(rest) = text.strip_prefix("s3://") {
            let location = S3Location::parse(rest)?;
            if access_key_id.is_empty() || secret_access_key.is_empty() {
                return Err(BlobError::Setting(
                    "attachment_store s3://… needs s3_access_key_id and s3_secret_access_key \
                     (for example from SPEAKUP_S3_ACCESS_KEY_ID and \
                     SPEAKUP_S3_SECRET_ACCESS_KEY)"
                        .to_owned(),
                ));
            }
            return Ok(AttachmentStoreSetting::S3 {
                location: Box::new(location),
                keys: S3Keys {
                    access_key_id: access_key_id.to_owned(),
                    secret_access_key: Arc::new(crate::crypto::Secret::new(
                        secret_access_key.to_owned(),
                    )),
                },
            });
        }
        if !access_key_id.is_empty() || !secret_access_key.is_empty() {
            return Err(BlobError::Setting(
                "s3_access_key_id and s3_secret_access_key are only for attachment_store s3://…"
                    .to_owned(),
            ));
        }
        if text.is_empty() {
            return Ok(AttachmentStoreSetting::Directory(
                data_dir.join("attachments"),
            ));
        }
        if let Some(dir) = text.strip_prefix("file://") {
            if dir.is_empty() {
                return Err(BlobError::Setting(
                    "attachment_store file:// needs a directory".to_owned(),
                ));
            }
            return Ok(AttachmentStoreSetting::Directory(PathBuf::from(dir)));
        }
        Err(BlobError::Setting(format!(
            "attachment_store {text:?} must be file://DIR or s3://BUCKET/PREFIX?endpoint=URL"
        )))
    }

    /// Where attachments are, for the start-up log (no secret).
    pub fn describe(&self) -> String {
        match self {
            AttachmentStoreSetting::Directory(dir) => format!("file://{}", dir.display()),
            AttachmentStoreSetting::S3 { location, .. } => location.describe(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn restoring_a_directory_puts_back_only_missing_files_and_leaves_no_staging_file() {
        let root = tempfile::tempdir().expect("temporary directory");
        let backup = root.path().join("backup.db.attachments");
        let live = root.path().join("attachments");
        for (dir, name, bytes) in [
            (&backup, "kept", b"from the backup".as_slice()),
            (&backup, "lost", b"erased since".as_slice()),
            (&live, "kept", b"already here".as_slice()),
            (&live, "later", b"uploaded after".as_slice()),
        ] {
            std::fs::create_dir_all(dir.join("ab12")).expect("mkdir");
            std::fs::write(dir.join("ab12").join(name), bytes).expect("write");
        }
        assert_eq!(restore_directory(&backup, &live).expect("restore"), 1);
        let case = live.join("ab12");
        assert_eq!(
            std::fs::read(case.join("lost")).expect("read"),
            b"erased since"
        );
        assert_eq!(
            std::fs::read(case.join("kept")).expect("read"),
            b"already here"
        );
        assert!(case.join("later").exists(), "later files are left alone");
        let mut names: Vec<String> = std::fs::read_dir(&case)
            .expect("list")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        assert_eq!(names, ["kept", "later", "lost"]);
        assert_eq!(
            restore_directory(&root.path().join("missing"), &live).expect("no copy"),
            0
        );
    }

    #[test]
    fn keys_are_hex_only() {
        assert!(BlobKey::new("ab12", "cd34").is_ok());
        for bad in ["", "..", "a/b", "ab\0", "x".repeat(65).as_str(), "AB12-"] {
            assert!(BlobKey::new(bad, "cd").is_err(), "{bad:?}");
            assert!(BlobKey::new("ab", bad).is_err(), "{bad:?}");
        }
        assert_eq!(BlobKey::new("ab", "cd").unwrap().object_name(), "ab/cd");
    }

    #[test]
    fn copies_committed_blobs_only() {
        let source = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(source.path().join("ab12")).unwrap();
        std::fs::write(source.path().join("ab12").join("cd34"), b"sealed").unwrap();
        std::fs::create_dir_all(source.path().join(".incoming")).unwrap();
        std::fs::write(source.path().join(".incoming").join("x"), b"half").unwrap();
        let out = tempfile::tempdir().unwrap();
        let destination = out.path().join("copy");
        assert_eq!(copy_directory(source.path(), &destination).unwrap(), 1);
        assert_eq!(
            std::fs::read(destination.join("ab12").join("cd34")).unwrap(),
            b"sealed"
        );
        assert!(!destination.join(".incoming").exists());
        assert!(copy_directory(source.path(), &destination).is_err());
        assert_eq!(
            copy_directory(&out.path().join("missing"), &out.path().join("c2")).unwrap(),
            0
        );
    }

    #[test]
    fn store_setting_parses() {
        let data = Path::new("/srv/data");
        let parse = |text| AttachmentStoreSetting::parse(text, data, "", "");
        assert_eq!(
            parse("").unwrap(),
            AttachmentStoreSetting::Directory(PathBuf::from("/srv/data/attachments"))
        );
        assert_eq!(
            parse("file:///mnt/evidence").unwrap(),
            AttachmentStoreSetting::Directory(PathBuf::from("/mnt/evidence"))
        );
        assert!(parse("file://").is_err());
        assert!(parse("ftp://x").is_err());
        // S3 needs both keys; the keys make no sense without S3.
        let s3 = "s3://evidence/board?endpoint=http://127.0.0.1:9000";
        assert!(parse(s3).is_err());
        assert!(AttachmentStoreSetting::parse(s3, data, "AKID", "").is_err());
        assert!(AttachmentStoreSetting::parse("", data, "AKID", "secret").is_err());
        let setting = AttachmentStoreSetting::parse(s3, data, "AKID", "secret").unwrap();
        match &setting {
            AttachmentStoreSetting::S3 { location, keys } => {
                assert_eq!(location.bucket, "evidence");
                assert_eq!(location.prefix, "board");
                assert_eq!(keys.access_key_id, "AKID");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            setting.describe(),
            "s3://evidence/board at http://127.0.0.1:9000"
        );
        assert!(!format!("{setting:?}").contains("secret\""));
    }
}
