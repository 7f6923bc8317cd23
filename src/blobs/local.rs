//! The default store: one file per attachment under a directory (`DIR/CASE/ATTACHMENT`).
//! Uploads are written to `DIR/.incoming/` and renamed into place on commit, so a reader never
//! sees half a file and a crash leaves only an orphan in `.incoming`, cleared at start.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{BackupHint, BlobError, BlobKey, BlobReader, BlobStore, BlobWriter, BoxFuture};

const INCOMING: &str = ".incoming";
const READ_PIECE: usize = 64 * 1024;

pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// Touches nothing on disk until the first upload.
    pub fn new(root: &Path) -> LocalStore {
        LocalStore {
            root: root.to_path_buf(),
        }
    }

    fn path_of(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.case_id()).join(key.attachment_id())
    }
}

struct LocalWriter {
    file: tokio::fs::File,
    temp: PathBuf,
    target: PathBuf,
}

impl BlobWriter for LocalWriter {
    fn write<'a>(&'a mut self, sealed: &'a [u8]) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move { Ok(self.file.write_all(sealed).await?) })
    }

    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), BlobError>> {
        Box::pin(async move {
            let LocalWriter {
                mut file,
                temp,
                target,
            } = *self;
            let result = async {
                file.flush().await?;
                file.sync_data().await?;
                drop(file);
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                tokio::fs::rename(&temp, &target).await
            }
            .await;
            if result.is_err() {
                let _ = tokio::fs::remove_file(&temp).await;
            }
            Ok(result?)
        })
    }

    fn abort(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let LocalWriter { file, temp, .. } = *self;
            drop(file);
            let _ = tokio::fs::remove_file(&temp).await;
        })
    }
}

struct LocalReader {
    file: tokio::fs::File,
}

impl BlobReader for LocalReader {
    fn next_piece(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, BlobError>> {
        Box::pin(async move {
            let mut piece = vec![0u8; READ_PIECE];
            let read = self.file.read(&mut piece).await?;
            if read == 0 {
                return Ok(None);
            }
            piece.truncate(read);
            Ok(Some(piece))
        })
    }
}

impl BlobStore for LocalStore {
    fn create(&self, key: &BlobKey) -> BoxFuture<'_, Result<Box<dyn BlobWriter>, BlobError>> {
        let temp = self.root.join(INCOMING).join(crate::crypto::random_id());
        let target = self.path_of(key);
        let incoming = self.root.join(INCOMING);
        Box::pin(async move {
            tokio::fs::create_dir_all(&incoming).await?;
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .await?;
            Ok(Box::new(LocalWriter { file, temp, target }) as Box<dyn BlobWriter>)
        })
    }

    fn open(&self, key: &BlobKey) -> BoxFuture<'_, Result<Box<dyn BlobReader>, BlobError>> {
        let path = self.path_of(key);
        Box::pin(async move {
            match tokio::fs::File::open(&path).await {
                Ok(file) => Ok(Box::new(LocalReader { file }) as Box<dyn BlobReader>),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    Err(BlobError::Missing)
                }
                Err(error) => Err(error.into()),
            }
        })
    }

    fn delete(&self, key: &BlobKey) -> BoxFuture<'_, Result<(), BlobError>> {
        let path = self.path_of(key);
        Box::pin(async move {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(error) => Err(error.into()),
            }
        })
    }

    fn backup_hint(&self) -> BackupHint {
        BackupHint::Directory(self.root.clone())
    }

    fn clear_incoming(&self) -> Result<(), BlobError> {
        match std::fs::read_dir(self.root.join(INCOMING)) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let _ = std::fs::remove_file(entry.path());
                }
                Ok(())
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    async fn read_all(store: &LocalStore, key: &BlobKey) -> Vec<u8> {
        let mut reader = store.open(key).await.unwrap();
        let mut out = Vec::new();
        while let Some(piece) = reader.next_piece().await.unwrap() {
            assert!(piece.len() <= READ_PIECE);
            out.extend_from_slice(&piece);
        }
        out
    }

    #[actix_web::test]
    async fn write_commit_read_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let key = BlobKey::new("c1", "a1").unwrap();
        let mut writer = store.create(&key).await.unwrap();
        writer.write(b"sealed ").await.unwrap();
        // Not visible until committed.
        assert!(matches!(store.open(&key).await, Err(BlobError::Missing)));
        writer.write(&vec![7u8; 200_000]).await.unwrap();
        writer.commit().await.unwrap();
        let back = read_all(&store, &key).await;
        assert_eq!(back.len(), 7 + 200_000);
        assert_eq!(&back[..7], b"sealed ");
        assert_eq!(
            std::fs::read_dir(dir.path().join(INCOMING))
                .unwrap()
                .count(),
            0
        );
        store.delete(&key).await.unwrap();
        assert!(matches!(store.open(&key).await, Err(BlobError::Missing)));
        store.delete(&key).await.unwrap();
    }

    #[actix_web::test]
    async fn abort_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let key = BlobKey::new("c1", "a2").unwrap();
        let mut writer = store.create(&key).await.unwrap();
        writer.write(b"half").await.unwrap();
        writer.abort().await;
        assert!(matches!(store.open(&key).await, Err(BlobError::Missing)));
        assert_eq!(
            std::fs::read_dir(dir.path().join(INCOMING))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn leftovers_are_cleared_at_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(INCOMING)).unwrap();
        std::fs::write(dir.path().join(INCOMING).join("orphan"), b"x").unwrap();
        LocalStore::new(dir.path()).clear_incoming().unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join(INCOMING))
                .unwrap()
                .count(),
            0
        );
    }
}
