use std::io::Write;

use serde_json::json;

use super::{
    AuditCommand, CalendarCommand, CliError, Command, HolidayCommand, NotifyCommand, OrgCommand,
    ReportCommand, ReportFormat, RetentionCommand, UserCommand,
};
use crate::blobs::{self, BackupHint};
use crate::clock::Clock;
use crate::config::{self, DatabaseUrl, Overrides, Settings};
use crate::crypto::Secret;
use crate::model::Role;
use crate::procedure::parse_iso_date;
use crate::service::Portal;
use crate::service::accounts::{Actor, NewAccount};
use crate::service::audit_log::AuditHead;
use crate::service::governance::{ReportVersion, parse_period};
use crate::service::organisations::ServiceSet;
use crate::store::Store;
use crate::store::audit::ChainCheck;
use crate::store::organisations::HolidayChange;
use crate::web;

pub fn run(command: Command, overrides: &Overrides) -> Result<(), CliError> {
    match command {
        Command::Serve { .. } => serve(overrides),
        Command::Migrate => {
            let settings = Settings::load(overrides)?;
            crate::telemetry::init(settings.log_level);
            let store = open_store(&settings)?;
            // Opening already migrated; say where, so operators can see which database it was.
            println!("{}", json!({"migrated": store.describe()}));
            Ok(())
        }
        Command::Org(OrgCommand::Add {
            slug,
            name,
            services,
        }) => {
            let portal = open_portal(overrides)?;
            let services = ServiceSet::parse(&services)?;
            let organisation = portal.add_organisation(&slug, &name, services)?;
            print_line(&json!({
                "id": organisation.id,
                "slug": organisation.slug,
                "name": organisation.name,
            }))
        }
        Command::Org(OrgCommand::List) => {
            let portal = open_portal(overrides)?;
            for organisation in portal.organisations()? {
                let services = ServiceSet {
                    nhs: organisation.serves_nhs,
                    local_authority: organisation.serves_local_authority,
                };
                print_line(&json!({
                    "id": organisation.id,
                    "slug": organisation.slug,
                    "name": organisation.name,
                    "services": services.names(),
                }))?;
            }
            Ok(())
        }
        Command::User(UserCommand::EnrolmentLink {
            organisation,
            email,
        }) => {
            let portal = open_portal(overrides)?;
            let link = portal.enrolment_link(&organisation, &email)?;
            print_line(&json!({"link": link.expose_secret()}))
        }
        Command::User(UserCommand::Add {
            organisation,
            email,
            name,
            role,
            job_title,
            intake,
            password_stdin: _,
        }) => {
            let role = Role::parse(&role).ok_or_else(|| {
                CliError::Usage(format!(
                    "unknown role {role:?}; use contact, investigator, lead, champion or admin"
                ))
            })?;
            let password = read_password_line()?;
            let portal = open_portal(overrides)?;
            let created = portal.add_account(
                &Actor::CommandLine,
                NewAccount {
                    organisation,
                    email,
                    name,
                    job_title,
                    role,
                    intake,
                    password,
                },
            )?;
            print_line(&json!({
                "id": created.user.id,
                "totp_uri": created.totp_uri.expose_secret(),
            }))
        }
        Command::Audit(AuditCommand::Head) => {
            let portal = open_portal(overrides)?;
            print_line(&json!(portal.audit_head()?))
        }
        Command::Audit(AuditCommand::Verify {
            expect_entries,
            expect_head,
        }) => {
            let checkpoint = match (expect_entries, expect_head) {
                (Some(entries), Some(head)) => Some(
                    AuditHead::checkpoint(entries, &head)
                        .map_err(|error| CliError::Usage(error.to_string()))?,
                ),
                _ => None,
            };
            let portal = open_portal(overrides)?;
            match portal.verify_audit_log_against(checkpoint.as_ref())? {
                ChainCheck::Intact { entries } => {
                    print_line(&json!({"intact": true, "entries": entries}))
                }
                ChainCheck::Broken { seq, reason } => {
                    print_line(&json!({"intact": false, "first_broken": seq, "reason": reason}))?;
                    Err(CliError::CheckFailed(format!(
                        "audit log entry {seq} does not verify: {reason}"
                    )))
                }
            }
        }
        Command::Org(OrgCommand::Holidays(command)) => holidays(command, overrides),
        Command::Org(OrgCommand::Settings {
            organisation,
            day_one_next_working_day,
            stage1_extension_cap,
            board_exact_figures,
            retention_months,
        }) => {
            let portal = open_portal(overrides)?;
            let mut organisation = portal.update_organisation_settings(
                &organisation,
                day_one_next_working_day,
                stage1_extension_cap,
                board_exact_figures,
            )?;
            if let Some(months) = retention_months {
                organisation = portal.set_retention_months(&organisation.slug, months)?;
            }
            print_line(&json!({
                "organisation": organisation.slug,
                "day_one_rule": organisation.day_one_rule,
                "stage1_extension_cap": organisation.stage1_extension_cap,
                "board_exact_figures": organisation.board_exact_figures,
                "retention_months": organisation.retention_months,
            }))
        }
        Command::Retention(RetentionCommand::Preview { as_of }) => {
            let portal = open_portal(overrides)?;
            let as_of = match as_of {
                Some(text) => date_argument("--as-of", &text)?,
                None => portal.clock.today(),
            };
            for case in portal.cases_due_for_erasure(as_of)? {
                print_line(&json_value(&case)?)?;
            }
            Ok(())
        }
        Command::Retention(RetentionCommand::Run) => {
            let portal = open_portal(overrides)?;
            let today = portal.clock.today();
            let run = actix_web::rt::System::new()
                .block_on(crate::housekeeping::apply_retention(&portal, today))?;
            print_line(&json_value(&run)?)
        }
        Command::Report(ReportCommand::Kpi {
            organisation,
            quarter,
            period,
            format,
            board,
        }) => {
            let period = match (quarter, period) {
                (Some(text), None) | (None, Some(text)) => parse_period(&text)?,
                _ => {
                    return Err(CliError::Usage(
                        "give --quarter YYYY-Qn (or --period YYYY or YYYY/YY)".to_owned(),
                    ));
                }
            };
            let portal = open_portal(overrides)?;
            let version = if board {
                ReportVersion::Board
            } else {
                ReportVersion::Published
            };
            let report = portal.kpi_report(&organisation, period, version)?;
            let text = match format {
                ReportFormat::Json => serde_json::to_string_pretty(&report)
                    .map_err(|error| CliError::Startup(error.to_string()))?,
                ReportFormat::Csv => {
                    web::reports::csv_file::render(&report).map_err(CliError::Startup)?
                }
                ReportFormat::Html => {
                    web::reports::board_paper::render(&report).map_err(CliError::Startup)?
                }
            };
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{}", text.trim_end())?;
            Ok(())
        }
        Command::Org(OrgCommand::RecoveryKey { organisation }) => {
            let portal = open_portal(overrides)?;
            let secret = portal.create_recovery_key(&organisation)?;
            eprintln!(
                "speakup: this is the only time the recovery key is shown. Print it, store it \
                 offline with the executive lead, and never keep it on this server."
            );
            print_line(&json!({
                "organisation": organisation,
                "recovery_key": secret.expose_secret(),
            }))
        }
        Command::Calendar(CalendarCommand::Holidays { organisation, year }) => {
            let portal = open_portal(overrides)?;
            let mut stdout = std::io::stdout().lock();
            for holiday in portal.holidays_in_year(&organisation, year)? {
                writeln!(stdout, "{}", holiday.date)?;
            }
            Ok(())
        }
        Command::Notify(NotifyCommand::Preview { as_of }) => {
            let as_of = date_argument("--as-of", &as_of)?;
            let portal = open_portal(overrides)?;
            for line in portal.reminder_preview(as_of)? {
                print_line(
                    &serde_json::to_value(&line)
                        .map_err(|error| CliError::Startup(error.to_string()))?,
                )?;
            }
            Ok(())
        }
        Command::Calendar(CalendarCommand::Due {
            organisation,
            received,
            working_days,
        }) => {
            let received = date_argument("--received", &received)?;
            let portal = open_portal(overrides)?;
            let due = portal.due_date(&organisation, received, working_days)?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{due}")?;
            Ok(())
        }
        Command::Recover {
            organisation,
            reference,
            to,
            key_stdin: _,
        } => {
            let key = read_password_line()?;
            let portal = open_portal(overrides)?;
            portal.recover_case(&organisation, &reference, &key, &to)?;
            print_line(&json!({"recovered": reference, "to": to}))
        }
        Command::Restore { source, force } => restore(&source, force, overrides),
        Command::Backup { destination } => {
            let portal = open_portal(overrides)?;
            let hint = portal.blobs.backup_hint();
            let attachments_step = match &hint {
                BackupHint::Directory(dir) => format!(
                    "copy the attachment directory {} (files never change once written: copy \
                     it after the database dump)",
                    dir.display()
                ),
                BackupHint::Remote(what) => what.clone(),
            };
            if let Err(error) = portal.store.backup_to(&destination) {
                return Err(match error {
                    crate::store::StoreError::Backup(message)
                        if portal.store.backend() == crate::store::Backend::Postgres =>
                    {
                        crate::store::StoreError::Backup(format!(
                            "{message}; and {attachments_step}"
                        ))
                    }
                    other => other,
                }
                .into());
            }
            match hint {
                BackupHint::Directory(attachments) => {
                    let copy = attachments_copy_path(&destination);
                    let files = blobs::copy_directory(&attachments, &copy)
                        .map_err(|error| CliError::Usage(error.to_string()))?;
                    print_line(&json!({
                        "backup": destination.display().to_string(),
                        "attachments": copy.display().to_string(),
                        "attachment_files": files,
                    }))
                }
                BackupHint::Remote(_) => {
                    // The database is copied; the objects can only be copied by the operator.
                    eprintln!("attachments are in object storage: {attachments_step}");
                    print_line(&json!({
                        "backup": destination.display().to_string(),
                        "attachments": portal.settings.attachment_store.describe(),
                        "copy_attachments": attachments_step,
                    }))
                }
            }
        }
    }
}

fn restore(source: &std::path::Path, force: bool, overrides: &Overrides) -> Result<(), CliError> {
    let settings = Settings::load(overrides)?;
    crate::telemetry::init(settings.log_level);
    let DatabaseUrl::Sqlite(database) = &settings.database else {
        return Err(CliError::Usage(
            "this deployment uses PostgreSQL: restore a pg_dump with pg_restore into a fresh, \
             empty database and point database_url at it (see README, \"Backup and restore\")"
                .to_owned(),
        ));
    };
    if let Some(parent) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
        config::ensure_writable_dir(parent)?;
    }
    let restored = crate::store::restore::restore_sqlite(source, database, force)?;
    // The database is in place; attachments are put back from the backup's copy, if any.
    let portal = open_portal(overrides)?;
    let copy = attachments_copy_path(source);
    let attachments = match portal.blobs.backup_hint() {
        BackupHint::Directory(directory) => {
            let added = blobs::restore_directory(&copy, &directory)
                .map_err(|error| CliError::Usage(error.to_string()))?;
            json!({"directory": directory.display().to_string(), "files_put_back": added})
        }
        BackupHint::Remote(_) => {
            eprintln!(
                "speakup: attachments are in object storage; restore does not touch it. Objects \
                 written after the backup stay there unreferenced; objects deleted since (erased \
                 cases) are gone unless your bucket keeps versions."
            );
            json!({"object_storage": portal.settings.attachment_store.describe()})
        }
    };
    print_line(&json!({
        "restored": database.display().to_string(),
        "from": source.display().to_string(),
        "replaced": restored.replaced,
        "audit_entries": restored.audit_entries,
        "migrations_applied": restored.migrations_applied,
        "attachments": attachments,
    }))
}

/// `DEST.attachments`, next to the database copy.
fn attachments_copy_path(destination: &std::path::Path) -> std::path::PathBuf {
    let mut name = destination.as_os_str().to_owned();
    name.push(".attachments");
    std::path::PathBuf::from(name)
}

fn date_argument(flag: &str, text: &str) -> Result<time::Date, CliError> {
    parse_iso_date(text)
        .map_err(|_| CliError::Usage(format!("{flag} {text:?} is not a date like 2026-11-30")))
}

fn holidays(command: HolidayCommand, overrides: &Overrides) -> Result<(), CliError> {
    let portal = open_portal(overrides)?;
    let (slug, date, change, label) = match command {
        HolidayCommand::List { organisation } => {
            let (_, changes) = portal.holiday_overrides(&organisation)?;
            for change in changes {
                print_line(&json!({
                    "date": change.day.to_string(),
                    "change": match change.change { HolidayChange::Add => "add", HolidayChange::Remove => "work" },
                    "label": change.label,
                }))?;
            }
            return Ok(());
        }
        HolidayCommand::Add {
            organisation,
            date,
            label,
        } => (organisation, date, Some(HolidayChange::Add), label),
        HolidayCommand::Work { organisation, date } => (
            organisation,
            date,
            Some(HolidayChange::Remove),
            "Worked bank holiday".to_owned(),
        ),
        HolidayCommand::Clear { organisation, date } => (organisation, date, None, String::new()),
    };
    let day = date_argument("--date", &date)?;
    portal.change_holiday(None, &slug, day, change, &label)?;
    print_line(&json!({"organisation": slug, "date": day.to_string(), "changed": true}))
}

fn json_value(value: &impl serde::Serialize) -> Result<serde_json::Value, CliError> {
    serde_json::to_value(value).map_err(|error| CliError::Startup(error.to_string()))
}

fn print_line(value: &serde_json::Value) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{value}")?;
    Ok(())
}

fn read_password_line() -> Result<Secret<String>, CliError> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    zeroize::Zeroize::zeroize(&mut line);
    if password.is_empty() {
        return Err(CliError::Usage(
            "no password on standard input (pipe it in: printf '%s\\n' \"$PASSWORD\" | speakup user add …)"
                .to_owned(),
        ));
    }
    Ok(Secret::new(password))
}

fn open_store(settings: &Settings) -> Result<Store, CliError> {
    if let DatabaseUrl::Sqlite(path) = &settings.database {
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        config::ensure_writable_dir(&directory)?;
    }
    Store::open(&settings.database, settings.pool_size)
        .map_err(|error| CliError::Startup(error.to_string()))
}

fn open_portal(overrides: &Overrides) -> Result<Portal, CliError> {
    let settings = Settings::load(overrides)?;
    crate::telemetry::init(settings.log_level);
    let store = open_store(&settings)?;
    Ok(Portal::new(store, Clock::System, settings))
}

fn serve(overrides: &Overrides) -> Result<(), CliError> {
    web::views::check().map_err(CliError::Startup)?;
    // Held until the server stops, so `speakup restore` cannot swap the file under it.
    let _serving = match &Settings::load(overrides)?.database {
        DatabaseUrl::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                config::ensure_writable_dir(parent)?;
            }
            Some(crate::store::restore::DatabaseLock::for_serving(path)?)
        }
        DatabaseUrl::Postgres(_) => None,
    };
    let portal = open_portal(overrides)?;
    // Half-written uploads from a crash are sealed but useless; drop them.
    portal
        .blobs
        .clear_incoming()
        .map_err(|error| CliError::Startup(error.to_string()))?;
    let settings = portal.settings.clone();
    tracing::info!(
        database = %portal.store.describe(),
        attachments = %settings.attachment_store.describe(),
        bind = %settings.bind,
        "speakup starting"
    );
    if let Some(token) = portal.issue_setup_token()? {
        // Printed, never logged: whoever can read the server's console may create the first admin.
        eprintln!(
            "speakup: no admin account yet. Create one within {} hours at:\n  {}/setup/{}",
            settings.setup_token_hours,
            settings.public_url,
            token.expose_secret()
        );
    }
    let worker_portal = portal.clone();
    let state = web::AppState::new(portal);
    actix_web::rt::System::new().block_on(async move {
        let mailer = crate::notify::smtp::Mailer::from_settings(&settings.mail)
            .map_err(|error| CliError::Startup(error.to_string()))?;
        match &mailer {
            Some(mailer) => tracing::info!(server = %mailer.server(), "e-mail notices on"),
            None => tracing::info!("no smtp_url: e-mail notices stay queued in the outbox"),
        }
        let housekeeping = actix_web::rt::spawn(crate::housekeeping::run(worker_portal.clone()));
        let worker = actix_web::rt::spawn(crate::notify::worker::run(worker_portal, mailer));
        // A blocking thread beyond the connection pool and the password checks would only
        // wait; each one costs a stack and, when busy, allocator memory.
        let blocking_threads =
            usize::try_from(settings.pool_size + settings.max_concurrent_password_checks)
                .unwrap_or(usize::MAX);
        let server = actix_web::HttpServer::new(move || web::app(state.clone()))
            .worker_max_blocking_threads(blocking_threads)
            .bind(settings.bind)
            .map_err(|error| {
                CliError::Startup(format!("cannot listen on {}: {}", settings.bind, error))
            })?
            .shutdown_timeout(20)
            .run();
        eprintln!("speakup: listening on {}", settings.public_url);
        server.await?;
        worker.abort();
        housekeeping.abort();
        tracing::info!("speakup stopped");
        Ok(())
    })
}
