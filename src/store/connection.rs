//! One connection type over both backends, chosen from the URL, and the pool that hands it out.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use crate::config::DatabaseUrl;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// The connection a store function works on: always inside a transaction opened by
/// [`super::Store::read`] or [`super::Store::write`].
pub type Tx = DbConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

// Durability first: an acknowledged concern must survive a power cut (synchronous=FULL); WAL
// lets readers proceed during a write; secure_delete overwrites freed pages so deleted sessions
// do not linger in the file. The soft heap limit (process-wide, 8 MiB) bounds the page caches of
// all pooled connections together: a connection the pool rarely hands out then reuses pages
// instead of growing the process whenever a burst warms it up (load/RESULTS.md, soak run 5);
// the operating system still caches the file.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
PRAGMA busy_timeout = 10000;
PRAGMA secure_delete = ON;
PRAGMA soft_heap_limit = 8388608;";

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(pub String);

/// Builds the right variant from the URL scheme (rather than `MultiConnection::establish`, which
/// tries each backend in turn and hides why PostgreSQL refused).
#[derive(Debug, Clone)]
pub struct ConnectionFactory {
    database: DatabaseUrl,
}

impl ConnectionFactory {
    pub fn new(database: DatabaseUrl) -> Self {
        ConnectionFactory { database }
    }

    pub fn backend(&self) -> Backend {
        match self.database {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn establish(&self) -> Result<DbConnection, ConnectError> {
        match &self.database {
            DatabaseUrl::Sqlite(path) => {
                let path_text = path.to_str().ok_or_else(|| {
                    ConnectError(format!("database path {} is not UTF-8", path.display()))
                })?;
                let mut connection = SqliteConnection::establish(path_text).map_err(|error| {
                    ConnectError(format!("cannot open SQLite database {path_text}: {error}"))
                })?;
                connection.batch_execute(SQLITE_PRAGMAS).map_err(|error| {
                    ConnectError(format!(
                        "cannot configure SQLite database {path_text}: {error}"
                    ))
                })?;
                Ok(DbConnection::Sqlite(connection))
            }
            DatabaseUrl::Postgres(url) => {
                let connection = PgConnection::establish(url).map_err(|error| {
                    ConnectError(format!(
                        "cannot connect to PostgreSQL at {}: {}",
                        self.database.redacted(),
                        first_line(&error.to_string())
                    ))
                })?;
                Ok(DbConnection::Postgres(connection))
            }
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_owned()
}

impl r2d2::ManageConnection for ConnectionFactory {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        self.establish()
    }

    fn is_valid(&self, connection: &mut DbConnection) -> Result<(), ConnectError> {
        connection
            .batch_execute("SELECT 1")
            .map_err(|error| ConnectError(error.to_string()))
    }

    fn has_broken(&self, _connection: &mut DbConnection) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<ConnectionFactory>;

pub fn build_pool(factory: ConnectionFactory, size: u32) -> Result<Pool, ConnectError> {
    // Connect once up front so a wrong URL or a refused server is reported with its real cause,
    // not as a pool timeout.
    drop(factory.establish()?);
    r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(10))
        .test_on_check_out(false)
        .build(factory)
        .map_err(|error| ConnectError(format!("cannot start the connection pool: {error}")))
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::BigInt;

    use super::*;

    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = BigInt)]
        value: i64,
    }

    fn pragma(connection: &mut SqliteConnection, name: &str) -> i64 {
        let rows: Vec<Setting> =
            diesel::sql_query(format!("SELECT {name} AS value FROM pragma_{name}"))
                .load(connection)
                .unwrap_or_default();
        rows.first().map_or(-1, |row| row.value)
    }

    #[test]
    fn every_sqlite_connection_is_durable_and_bounds_its_page_cache() {
        let dir =
            tempfile::tempdir().unwrap_or_else(|error| panic!("temporary directory: {error}"));
        let factory = ConnectionFactory::new(DatabaseUrl::Sqlite(dir.path().join("pragmas.db")));
        for _ in 0..2 {
            let Ok(DbConnection::Sqlite(mut connection)) = factory.establish() else {
                panic!("a SQLite connection");
            };
            assert_eq!(pragma(&mut connection, "soft_heap_limit"), 8 << 20);
            // FULL is 2.
            assert_eq!(pragma(&mut connection, "synchronous"), 2);
            assert_eq!(pragma(&mut connection, "foreign_keys"), 1);
            assert_eq!(pragma(&mut connection, "secure_delete"), 1);
        }
    }
}
