//! Migrations are embedded per backend and run on the inner connection.

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::StoreError;
use super::connection::DbConnection;

pub(super) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Arbitrary but fixed: instances starting together take turns migrating.
const POSTGRES_MIGRATION_LOCK: i64 = 0x5370_6561_6b75_7001;

/// Applies pending migrations; returns how many ran.
pub fn run_pending(connection: &mut DbConnection) -> Result<usize, StoreError> {
    let failed =
        |error: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(error.to_string());
    match connection {
        DbConnection::Sqlite(sqlite) => {
            let applied = sqlite
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(failed)?;
            Ok(applied.len())
        }
        DbConnection::Postgres(postgres) => {
            postgres.batch_execute(&format!(
                "SELECT pg_advisory_lock({POSTGRES_MIGRATION_LOCK})"
            ))?;
            let outcome = postgres
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|applied| applied.len())
                .map_err(failed);
            postgres.batch_execute(&format!(
                "SELECT pg_advisory_unlock({POSTGRES_MIGRATION_LOCK})"
            ))?;
            outcome
        }
    }
}
