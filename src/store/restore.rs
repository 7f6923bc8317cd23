//! Restoring an SQLite backup (made by `speakup backup`) over the configured database, and the
//! lock that keeps a restore and a running server apart.
//!
//! The backup is copied next to the database, checked there (integrity, migrations this build
//! knows, an intact audit chain), made durable and only then renamed over the database, so a
//! failure at any step leaves the database as it was and no staging file behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::sqlite::Sqlite;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

use super::audit::{self, ChainCheck};
use super::{Store, StoreError};
use crate::config::DatabaseUrl;

/// `speakup serve` holds this (shared) for as long as it runs; `speakup restore` needs it
/// exclusively. The kernel drops an advisory lock when its process dies, kill -9 included, so a
/// crashed server never leaves a stale lock behind.
pub struct DatabaseLock {
    _file: File,
}

impl DatabaseLock {
    /// Taken by each server on start; several servers may share one database.
    pub fn for_serving(database: &Path) -> Result<DatabaseLock, StoreError> {
        let file = open_lock_file(database)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(DatabaseLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Backup(format!(
                "{} is being restored; start the server when the restore has finished",
                database.display()
            ))),
            Err(TryLockError::Error(error)) => Err(lock_failed(database, error)),
        }
    }

    /// Taken by a restore: refused while any server holds the database.
    fn for_restoring(database: &Path) -> Result<DatabaseLock, StoreError> {
        let file = open_lock_file(database)?;
        match file.try_lock() {
            Ok(()) => Ok(DatabaseLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Backup(format!(
                "a server is running on {} (it holds {}); stop it before restoring",
                database.display(),
                with_suffix(database, ".lock").display()
            ))),
            Err(TryLockError::Error(error)) => Err(lock_failed(database, error)),
        }
    }
}

fn open_lock_file(database: &Path) -> Result<File, StoreError> {
    let path = with_suffix(database, ".lock");
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| StoreError::Backup(format!("cannot open {}: {}", path.display(), error)))
}

fn lock_failed(database: &Path, error: std::io::Error) -> StoreError {
    StoreError::Backup(format!(
        "cannot lock {}: {}",
        with_suffix(database, ".lock").display(),
        error
    ))
}

/// `PATH` + `suffix`, e.g. `speakup.db` → `speakup.db-wal`.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// What a restore put in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Audit log entries in the restored database (all verified).
    pub audit_entries: i64,
    /// Migrations applied to bring an older backup up to this build.
    pub migrations_applied: usize,
    /// Whether a database was replaced (only with `force`).
    pub replaced: bool,
}

/// Replaces the SQLite database at `database` with the backup at `source`.
pub fn restore_sqlite(source: &Path, database: &Path, force: bool) -> Result<Restored, StoreError> {
    let _lock = DatabaseLock::for_restoring(database)?;
    if !source.is_file() {
        return Err(StoreError::Backup(format!(
            "{} is not a file",
            source.display()
        )));
    }
    if with_suffix(source, "-wal").exists() {
        return Err(StoreError::Backup(format!(
            "{} has a write-ahead log beside it: it is a live database, not a backup; make a \
             backup of it with `speakup backup`",
            source.display()
        )));
    }
    let replaced = database.exists();
    if replaced && !force {
        return Err(StoreError::Backup(format!(
            "{} already exists; add --force to replace it with the backup",
            database.display()
        )));
    }
    let staging = with_suffix(database, ".restoring");
    remove_database_files(&staging)?;
    let checked = stage(source, &staging);
    let (audit_entries, migrations_applied) = match checked {
        Ok(outcome) => outcome,
        Err(error) => {
            // Nothing half-done stays behind; the live database was never touched.
            remove_database_files(&staging)?;
            return Err(error);
        }
    };
    if replaced {
        // Fold the old database's log into it first, so that if this process dies before the
        // rename the old database is still whole. A database too damaged to checkpoint (often
        // the reason for restoring) is replaced all the same: it was asked for with --force.
        if let Err(error) = checkpoint(database) {
            tracing::warn!(error = %error, "the database being replaced could not be checkpointed");
        }
    }
    // An old log left beside the new file would be replayed into it: remove it before the
    // rename.
    remove_file_if_present(&with_suffix(database, "-wal"))?;
    remove_file_if_present(&with_suffix(database, "-shm"))?;
    std::fs::rename(&staging, database).map_err(|error| {
        StoreError::Backup(format!(
            "cannot move the checked copy over {}: {}",
            database.display(),
            error
        ))
    })?;
    sync_parent(database)?;
    Ok(Restored {
        audit_entries,
        migrations_applied,
        replaced,
    })
}

/// Copies `source` to `staging`, checks the copy and makes it durable.
fn stage(source: &Path, staging: &Path) -> Result<(i64, usize), StoreError> {
    let io = |what: &str, error: std::io::Error| StoreError::Backup(format!("{what}: {error}"));
    std::fs::copy(source, staging).map_err(|error| {
        io(
            &format!("cannot copy {} to {}", source.display(), staging.display()),
            error,
        )
    })?;
    check_file(staging)?;
    let url = DatabaseUrl::Sqlite(staging.to_path_buf());
    let outcome = {
        // Opening brings an older backup up to this build's schema, as `serve` would.
        let before = applied_migrations(staging)?.len();
        let store = Store::open(&url, 1)?;
        let after = applied_migrations(staging)?.len();
        let entries = match store.read(audit::verify)? {
            ChainCheck::Intact { entries } => entries,
            ChainCheck::Broken { seq, reason } => {
                return Err(StoreError::Backup(format!(
                    "the backup's audit log does not verify at entry {seq}: {reason}"
                )));
            }
        };
        (entries, after.saturating_sub(before))
    };
    // The store is closed: fold its write-ahead log into the file before it is moved.
    checkpoint(staging)?;
    remove_file_if_present(&with_suffix(staging, "-wal"))?;
    remove_file_if_present(&with_suffix(staging, "-shm"))?;
    File::open(staging)
        .and_then(|file| file.sync_all())
        .map_err(|error| io(&format!("cannot sync {}", staging.display()), error))?;
    Ok(outcome)
}

#[derive(QueryableByName)]
struct CheckLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct MigrationVersion {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

fn open_plain(path: &Path) -> Result<SqliteConnection, StoreError> {
    let text = path
        .to_str()
        .ok_or_else(|| StoreError::Backup(format!("{} is not a UTF-8 path", path.display())))?;
    SqliteConnection::establish(text)
        .map_err(|error| StoreError::Backup(format!("cannot open {text}: {error}")))
}

/// `PRAGMA integrity_check` passes and every migration recorded is one this build knows.
fn check_file(path: &Path) -> Result<(), StoreError> {
    let mut connection = open_plain(path)?;
    let lines: Vec<CheckLine> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut connection)
        .map_err(|error| {
            StoreError::Backup(format!(
                "the backup is not a readable SQLite database: {error}"
            ))
        })?;
    let problems: Vec<String> = lines
        .into_iter()
        .map(|line| line.integrity_check)
        .filter(|line| line != "ok")
        .collect();
    if !problems.is_empty() {
        return Err(StoreError::Backup(format!(
            "the backup fails SQLite's integrity check: {}",
            problems.join("; ")
        )));
    }
    drop(connection);
    let known: Vec<String> =
        <diesel_migrations::EmbeddedMigrations as MigrationSource<Sqlite>>::migrations(
            &super::migrate::SQLITE_MIGRATIONS,
        )
        .map_err(|error| StoreError::Migration(error.to_string()))?
        .iter()
        .map(|migration| migration.name().version().to_string())
        .collect();
    let applied = applied_migrations(path)?;
    if applied.is_empty() {
        return Err(StoreError::Backup(
            "the backup has no speakup schema (is it a speakup backup?)".to_owned(),
        ));
    }
    if let Some(unknown) = applied.iter().find(|version| !known.contains(version)) {
        return Err(StoreError::Backup(format!(
            "the backup has migration {unknown}, which this build does not know: restore it \
             with the release that made it"
        )));
    }
    Ok(())
}

fn applied_migrations(path: &Path) -> Result<Vec<String>, StoreError> {
    let mut connection = open_plain(path)?;
    let versions: Vec<MigrationVersion> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations ORDER BY version")
            .load(&mut connection)
            .unwrap_or_default();
    Ok(versions.into_iter().map(|row| row.version).collect())
}

/// Folds the write-ahead log into the database file and empties it.
fn checkpoint(path: &Path) -> Result<(), StoreError> {
    let mut connection = open_plain(path)?;
    connection
        .batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
        .map_err(|error| {
            StoreError::Backup(format!("cannot checkpoint {}: {}", path.display(), error))
        })
}

fn remove_database_files(path: &Path) -> Result<(), StoreError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        remove_file_if_present(&with_suffix(path, suffix))?;
    }
    Ok(())
}

fn remove_file_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(StoreError::Backup(format!(
            "cannot remove {}: {}",
            path.display(),
            error
        ))),
    }
}

fn sync_parent(path: &Path) -> Result<(), StoreError> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| StoreError::Backup(format!("cannot sync {}: {}", parent.display(), error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> tempfile::TempDir {
        tempfile::tempdir().expect("temporary directory")
    }

    /// A migrated database and its backup beside it (`.bak`).
    fn database_with_a_backup(path: &Path) {
        let store = Store::open(&DatabaseUrl::Sqlite(path.to_path_buf()), 1).expect("open");
        store.backup_to(&with_suffix(path, ".bak")).expect("backup");
    }

    #[test]
    fn a_backup_replaces_the_database_only_with_force_and_leaves_no_staging_file() {
        let dir = scratch();
        let live = dir.path().join("speakup.db");
        database_with_a_backup(&live);
        let backup = with_suffix(&live, ".bak");
        let refused = restore_sqlite(&backup, &live, false).expect_err("refuses to overwrite");
        assert!(refused.to_string().contains("--force"), "{refused}");
        let restored = restore_sqlite(&backup, &live, true).expect("restores");
        assert!(restored.replaced);
        assert!(!with_suffix(&live, ".restoring").exists());
        assert!(!with_suffix(&live, "-wal").exists());
        check_file(&live).expect("restored file passes the checks");
    }

    #[test]
    fn a_damaged_or_foreign_file_is_refused_and_the_database_kept() {
        let dir = scratch();
        let live = dir.path().join("speakup.db");
        database_with_a_backup(&live);
        let before = std::fs::read(&live).expect("read");
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"this is not a database at all, just some bytes").expect("write");
        let error = restore_sqlite(&junk, &live, true).expect_err("junk is refused");
        assert!(error.to_string().contains("backup"), "{error}");
        let other = dir.path().join("other.db");
        let mut connection = open_plain(&other).expect("open");
        connection
            .batch_execute("CREATE TABLE t (x INTEGER)")
            .expect("create");
        drop(connection);
        let error = restore_sqlite(&other, &live, true).expect_err("foreign database refused");
        assert!(error.to_string().contains("no speakup schema"), "{error}");
        assert_eq!(std::fs::read(&live).expect("read"), before);
        assert!(!with_suffix(&live, ".restoring").exists());
    }

    #[test]
    fn a_damaged_database_is_replaced_with_force() {
        let dir = scratch();
        let live = dir.path().join("speakup.db");
        database_with_a_backup(&live);
        std::fs::write(&live, b"overwritten by a disk fault").expect("damage");
        std::fs::write(with_suffix(&live, "-wal"), b"stale log").expect("stale log");
        restore_sqlite(&with_suffix(&live, ".bak"), &live, true).expect("restores");
        assert!(!with_suffix(&live, "-wal").exists());
        check_file(&live).expect("restored file passes the checks");
    }

    #[test]
    fn a_server_holding_the_database_blocks_a_restore() {
        let dir = scratch();
        let live = dir.path().join("speakup.db");
        database_with_a_backup(&live);
        let serving = DatabaseLock::for_serving(&live).expect("server lock");
        let second = DatabaseLock::for_serving(&live).expect("servers share the lock");
        let error = restore_sqlite(&with_suffix(&live, ".bak"), &live, true)
            .expect_err("refused while serving");
        assert!(
            error.to_string().contains("stop it before restoring"),
            "{error}"
        );
        drop((serving, second));
        restore_sqlite(&with_suffix(&live, ".bak"), &live, true).expect("restores once stopped");
    }
}
