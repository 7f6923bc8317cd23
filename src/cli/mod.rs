//! The `speakup` command line. Every command takes the same `--config`, `--data-dir` and
//! `--database-url` as `serve` and goes through the same service layer as the web.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{ConfigError, Overrides};
use crate::service::ServiceError;
use crate::store::StoreError;

#[derive(Debug, Parser)]
#[command(name = "speakup", version, about = "Secure anonymous reporting portal")]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// TOML settings file (default: ./speakup.toml if present, or $SPEAKUP_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the SQLite database lives (default ./data).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… for PostgreSQL, or sqlite://FILE (default: SQLite in the data directory).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Create or update the database schema, then exit.
    Migrate,
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage handler accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Governance reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Working days and deadlines.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Re-grant a case to a handler with the organisation's offline recovery key (read from
    /// standard input).
    Recover {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        #[arg(long = "case", value_name = "REFERENCE")]
        reference: String,
        #[arg(long = "to", value_name = "EMAIL")]
        to: String,
        #[arg(long, required = true)]
        key_stdin: bool,
    },
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// E-mail notices.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Records retention: erase the content of finished cases once the organisation's
    /// retention period has passed since their last activity.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Write a consistent copy of a live SQLite database to DEST and of the attachment files
    /// to DEST.attachments (for PostgreSQL, say what to copy).
    Backup {
        #[arg(value_name = "DEST")]
        destination: PathBuf,
    },
    /// Replace the SQLite database with a backup made by `speakup backup` (checked first:
    /// integrity, known migrations, audit chain), and put back attachment files from
    /// SRC.attachments. Refused while a server runs. For PostgreSQL, say how to use pg_restore.
    Restore {
        #[arg(value_name = "SRC")]
        source: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Add an organisation.
    Add {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// nhs, local_authority, or both comma separated (a partnership delivers both).
        #[arg(long, default_value = "nhs")]
        services: String,
    },
    /// List organisations, one JSON object a line.
    List,
    /// Local holidays and worked bank holidays.
    #[command(subcommand)]
    Holidays(HolidayCommand),
    /// Show or change the organisation's procedure and reporting settings.
    Settings {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        /// Count day 1 from the next working day after receipt (default: the day of receipt).
        #[arg(long, value_name = "true|false")]
        day_one_next_working_day: Option<bool>,
        /// Working days from day 1 that a stage 1 extension may reach (5 to 10).
        #[arg(long, value_name = "DAYS")]
        stage1_extension_cap: Option<u32>,
        /// Let the board version of reports show exact figures (published ones never do).
        #[arg(long, value_name = "true|false")]
        board_exact_figures: Option<bool>,
        /// Months a finished case's content is kept after its last activity (12 to 1200;
        /// default 72).
        #[arg(long, value_name = "MONTHS")]
        retention_months: Option<u32>,
    },
    /// Create the organisation's recovery key and print its secret once.
    RecoveryKey {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum HolidayCommand {
    /// The organisation's calendar changes, one JSON object a line.
    List {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
    },
    /// Add a local non-working day.
    Add {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
        #[arg(long, default_value = "Local holiday")]
        label: String,
    },
    /// Mark a bank holiday as a working day for this organisation.
    Work {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
    },
    /// Remove the organisation's change for a day.
    Clear {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// The cases whose content would be erased on that day (default today), one JSON object a
    /// line ({"organisation","reference","last_activity","erasable_from"}); nothing changes.
    Preview {
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: Option<String>,
    },
    /// Erase the content of every case due today (what `serve` does every hour), then print
    /// {"erased":[…],"files_deleted","files_left"}.
    Run,
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// The deadline reminders that day would send, one JSON object a line
    /// ({"to","kind","case","percent"?,"due_on"}); nothing is sent or recorded.
    Preview {
        #[arg(long, value_name = "YYYY-MM-DD")]
        as_of: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// The organisation's non-working days in a year (besides weekends), one ISO date a line.
    Holidays {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        #[arg(long)]
        year: i32,
    },
    /// The due date N working days after receipt, counting day 1 as the procedure does.
    Due {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        received: String,
        #[arg(long)]
        working_days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Print a fresh one-time enrolment link for the person (replacing any earlier one), for
    /// the operator to pass on when e-mail is not set up; the e-mail is queued as well.
    EnrolmentLink {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        #[arg(long)]
        email: String,
    },
    /// Add an account; prints {"id":…,"totp_uri":…} once.
    Add {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// contact, investigator, lead, champion or admin.
        #[arg(long)]
        role: String,
        /// Shown to reporters next to the name, e.g. "Confidential contact, acute services".
        #[arg(long, default_value = "")]
        job_title: String,
        /// Put this confidential contact on the organisation's intake list.
        #[arg(long)]
        intake: bool,
        /// Read the password from the first line of standard input (required: passwords never
        /// go on the command line, where other users can see them).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The Standards' KPIs for a quarter (or a year with --period 2026, a financial year with
    /// --period 2026/27).
    Kpi {
        #[arg(long = "org", value_name = "SLUG")]
        organisation: String,
        #[arg(long, value_name = "YYYY-Qn", conflicts_with = "period")]
        quarter: Option<String>,
        #[arg(long, value_name = "YYYY|YYYY/YY")]
        period: Option<String>,
        #[arg(long, value_enum, default_value = "json")]
        format: ReportFormat,
        /// The board's internal version (exact figures, if the organisation allows it).
        #[arg(long)]
        board: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    Csv,
    Json,
    Html,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; exit code 1 and the first broken entry if it fails. With a
    /// checkpoint from `audit head`, also fail if the log no longer passes through it.
    Verify {
        /// Entries in the log when the checkpoint was taken.
        #[arg(long, requires = "expect_head")]
        expect_entries: Option<i64>,
        /// The head hash printed with that checkpoint.
        #[arg(long, requires = "expect_entries")]
        expect_head: Option<String>,
    },
    /// Print the chain's head `{"entries": N, "head": "hex"}` to keep outside the database.
    Head,
}

/// Why a command failed; decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Settings, arguments or start-up (exit code 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Startup(String),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A check ran and found a problem (already printed).
    #[error("{0}")]
    CheckFailed(String),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Startup(_) | CliError::Usage(_) => 2,
            CliError::Service(ServiceError::Invalid { .. }) => 2,
            _ => 1,
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        config_file: cli.common.config.clone(),
        bind: match &cli.command {
            Command::Serve { bind } => bind.clone(),
            _ => None,
        },
        data_dir: cli.common.data_dir.clone(),
        database_url: cli.common.database_url.clone(),
    };
    match commands::run(cli.command, &overrides) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("speakup: {}", one_line(&error.to_string()));
            ExitCode::from(error.exit_code())
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
