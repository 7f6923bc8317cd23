//! The only module that speaks SQL. Every use case runs inside one transaction opened here;
//! one submodule per aggregate.

pub mod approvals;
pub mod attachments;
pub mod audit;
pub mod cases;
pub mod conflicts;
pub mod connection;
pub mod enrolments;
pub mod events;
pub mod identity_requests;
pub mod learning;
pub mod migrate;
pub mod narratives;
pub mod organisations;
pub mod outbox;
pub mod reads;
pub mod reminders;
pub mod reporter_requests;
pub mod restore;
pub mod retention;
pub mod schema;
pub mod sessions;
pub mod users;
pub mod wraps;

use std::path::Path;
use std::sync::{Arc, Mutex};

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};

pub use connection::{Backend, DbConnection, Tx};

use crate::config::DatabaseUrl;
use connection::{ConnectionFactory, Pool};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("no connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("{0} already exists")]
    Duplicate(&'static str),
    #[error("{0}")]
    Backup(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The case's content was erased under the retention policy; nothing more may be added.
    #[error("the case's content was erased")]
    Erased,
}

impl From<connection::ConnectError> for StoreError {
    fn from(error: connection::ConnectError) -> Self {
        StoreError::Connect(error.0)
    }
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Duplicate`] so callers can answer
    /// "already exists" instead of a 500.
    pub fn duplicate_as(self, what: &'static str) -> StoreError {
        match self {
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => StoreError::Duplicate(what),
            other => other,
        }
    }
}

/// Carries the caller's own error out of a diesel transaction without forcing the caller's
/// error type to know about diesel.
enum Abort<E> {
    Caller(E),
    Database(diesel::result::Error),
}

impl<E> From<diesel::result::Error> for Abort<E> {
    fn from(error: diesel::result::Error) -> Self {
        Abort::Database(error)
    }
}

#[derive(Clone)]
pub struct Store {
    pool: Pool,
    backend: Backend,
    database: DatabaseUrl,
    // SQLite allows one writer; taking turns here, before BEGIN, avoids SQLITE_BUSY on lock
    // upgrades and keeps the audit chain strictly ordered. PostgreSQL uses row/advisory locks.
    sqlite_writer: Arc<Mutex<()>>,
}

impl Store {
    /// Connects, configures and migrates.
    pub fn open(database: &DatabaseUrl, pool_size: u32) -> Result<Store, StoreError> {
        let factory = ConnectionFactory::new(database.clone());
        let backend = factory.backend();
        let pool = connection::build_pool(factory, pool_size)?;
        let store = Store {
            pool,
            backend,
            database: database.clone(),
            sqlite_writer: Arc::new(Mutex::new(())),
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn describe(&self) -> String {
        self.database.redacted()
    }

    pub fn migrate(&self) -> Result<usize, StoreError> {
        let _turn = self.writer_turn();
        let mut connection = self.pool.get()?;
        migrate::run_pending(&mut connection)
    }

    /// Answers whether the database responds (for `/healthz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.pool.get()?;
        connection.batch_execute("SELECT 1")?;
        Ok(())
    }

    /// Runs `work` in a read transaction (a consistent snapshot across its queries).
    pub fn read<T, E>(&self, work: impl FnOnce(&mut Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut connection = self.pool.get().map_err(StoreError::from)?;
        run_transaction(&mut connection, work)
    }

    /// Runs `work` in a write transaction: all of it commits, or none of it.
    pub fn write<T, E>(&self, work: impl FnOnce(&mut Tx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut connection = self.pool.get().map_err(StoreError::from)?;
        let _turn = self.writer_turn();
        run_transaction(&mut connection, work)
    }

    fn writer_turn(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        match self.backend {
            // A panic while holding the turn leaves nothing to repair: the transaction rolled back.
            Backend::Sqlite => Some(
                self.sqlite_writer
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            ),
            Backend::Postgres => None,
        }
    }

    /// Writes a consistent copy of a live SQLite database to `destination`.
    pub fn backup_to(&self, destination: &Path) -> Result<(), StoreError> {
        match self.backend {
            Backend::Postgres => Err(StoreError::Backup(
                "this deployment uses PostgreSQL: back it up with pg_dump (for example \
                 `pg_dump --format=custom --file=speakup.dump DATABASE_URL`)"
                    .to_owned(),
            )),
            Backend::Sqlite => {
                if destination.exists() {
                    return Err(StoreError::Backup(format!(
                        "{} already exists; choose a new file name",
                        destination.display()
                    )));
                }
                let target = destination.to_str().ok_or_else(|| {
                    StoreError::Backup(format!("{} is not a UTF-8 path", destination.display()))
                })?;
                let mut connection = self.pool.get()?;
                let DbConnection::Sqlite(sqlite) = &mut *connection else {
                    return Err(StoreError::Backup("not an SQLite connection".to_owned()));
                };
                // VACUUM INTO copies one snapshot, so writers carry on during the backup.
                diesel::sql_query("VACUUM INTO ?")
                    .bind::<diesel::sql_types::Text, _>(target)
                    .execute(sqlite)
                    .map_err(|error| {
                        StoreError::Backup(format!(
                            "cannot write {}: {}",
                            destination.display(),
                            error
                        ))
                    })?;
                Ok(())
            }
        }
    }
}

fn run_transaction<T, E>(
    connection: &mut DbConnection,
    work: impl FnOnce(&mut Tx) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    connection
        .transaction::<T, Abort<E>, _>(|tx| work(tx).map_err(Abort::Caller))
        .map_err(|abort| match abort {
            Abort::Caller(error) => error,
            Abort::Database(error) => E::from(StoreError::Query(error)),
        })
}
