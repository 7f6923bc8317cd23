//! One integration-test binary. Each test gets a fresh database: SQLite in a temporary
//! directory by default, or its own PostgreSQL database when SPEAKUP_TEST_POSTGRES_URL is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_client;
mod api_keys;
mod audit_anchoring;
mod browser;
mod browser_casework;
mod browser_keys;
mod browser_leaks;
mod object_store;
mod support;

mod attachments;
mod browser_mailbox;
mod browser_mailbox_files;
mod browser_races;
mod browser_recovery;
mod calendar_cli;
mod cli;
mod console_pages;
mod crypto_vectors;
mod handlers;
mod http_shell;
mod insiders;
mod mailbox_requests;
mod notices;
mod outbox;
mod procedure_flow;
mod races;
mod record_binding;
mod recorded_concerns;
mod recovery;
mod reminder_schedule;
mod reporter_api;
mod reporter_pages;
mod reports;
mod resubmission;
mod retention;
mod sealed_concerns;
mod setup;
mod structure;
