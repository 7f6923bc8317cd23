//! Settings: defaults, then a TOML file, then `SPEAKUP_*` environment variables, then command-line
//! flags. Read once at start, validated into typed values, and passed down explicitly (no globals).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::blobs::AttachmentStoreSetting;

/// Environment variables with the `SPEAKUP_` prefix that are not settings: the config file path
/// itself and the test suite's PostgreSQL URL. Every other `SPEAKUP_*` variable must be a setting,
/// so a misspelt one is an error rather than silently ignored.
const NON_SETTING_VARIABLES: &[&str] = &["config", "test_postgres_url"];

const DEFAULT_CONFIG_FILE: &str = "speakup.toml";

const MIB: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration file {path}: {message}")]
    File { path: String, message: String },
}

/// The settings as written by an operator; every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSettings {
    pub bind: String,
    pub data_dir: PathBuf,
    /// Empty means SQLite at `data_dir/speakup.db`.
    pub database_url: String,
    /// The address reporters and handlers use; empty means `http://{bind}`.
    pub public_url: String,
    pub log_level: String,
    pub pool_size: u32,
    pub reporter_session_minutes: u32,
    pub handler_idle_minutes: u32,
    pub handler_absolute_hours: u32,
    pub setup_token_hours: u32,
    /// Take the client address for rate limiting from `X-Forwarded-For` (only behind a proxy you run).
    pub trust_forwarded_for: bool,
    pub concern_submissions_per_hour: u32,
    pub mailbox_sign_ins_per_minute: u32,
    pub handler_sign_ins_per_minute: u32,
    /// Password checks (64 MiB of Argon2id each) allowed to run at once; more wait their turn.
    pub max_concurrent_password_checks: u32,
    /// Largest single attachment, in MiB (before metadata is stripped).
    pub max_attachment_mib: u32,
    /// All attachments of one case together, in MiB.
    pub max_case_attachments_mib: u32,
    /// Attachment uploads one client may make per hour.
    pub attachment_uploads_per_hour: u32,
    /// `file://DIR` (empty: `data_dir/attachments`).
    pub attachment_store: String,
    /// Bearer token a Prometheus scraper sends to `/metrics`; empty means `/metrics` is 404.
    pub metrics_token: String,
    /// `smtp://host:port`, `smtps://user:pass@host:port` or `smtp+starttls://…`; empty means
    /// notices stay queued in the outbox.
    pub smtp_url: String,
    /// The From address of notices, e.g. `speakup <speakup@board.scot.nhs.uk>`.
    pub mail_from: String,
    /// Seconds between outbox polls of the delivery worker.
    pub mail_poll_seconds: u32,
}

impl Default for RawSettings {
    fn default() -> Self {
        RawSettings {
            bind: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            public_url: String::new(),
            log_level: "info".to_owned(),
            pool_size: 8,
            reporter_session_minutes: 30,
            handler_idle_minutes: 30,
            handler_absolute_hours: 12,
            setup_token_hours: 24,
            trust_forwarded_for: false,
            concern_submissions_per_hour: 20,
            mailbox_sign_ins_per_minute: 10,
            handler_sign_ins_per_minute: 10,
            max_concurrent_password_checks: 4,
            max_attachment_mib: 50,
            max_case_attachments_mib: 500,
            attachment_uploads_per_hour: 60,
            attachment_store: String::new(),
            metrics_token: String::new(),
            smtp_url: String::new(),
            mail_from: String::new(),
            mail_poll_seconds: 5,
        }
    }
}

/// Command-line values that override everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// A description safe to print: PostgreSQL passwords are masked.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => redact_password(url),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub public_url: String,
    pub log_level: LogLevel,
    pub pool_size: u32,
    pub reporter_session_minutes: u32,
    pub handler_idle_minutes: u32,
    pub handler_absolute_hours: u32,
    pub setup_token_hours: u32,
    pub trust_forwarded_for: bool,
    pub concern_submissions_per_hour: u32,
    pub mailbox_sign_ins_per_minute: u32,
    pub handler_sign_ins_per_minute: u32,
    pub max_concurrent_password_checks: u32,
    pub max_attachment_bytes: u64,
    pub max_case_attachment_bytes: u64,
    pub attachment_uploads_per_hour: u32,
    pub attachment_store: AttachmentStoreSetting,
    pub metrics_token: Option<std::sync::Arc<crate::crypto::Secret<String>>>,
    pub mail: MailSettings,
}

/// Where and how notices are delivered.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: no delivery; notices wait in the outbox.
    pub smtp: Option<SmtpUrl>,
    pub from: String,
    pub poll_seconds: u32,
}

/// An SMTP server URL. It may carry a password, so `Debug` shows it redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl(String);

impl SmtpUrl {
    /// The URL as written in the settings (contains the password: do not print it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn redacted(&self) -> String {
        redact_password(&self.0)
    }
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpUrl({})", self.redacted())
    }
}

impl Settings {
    /// Loads defaults ← file (`--config`, `SPEAKUP_CONFIG`, or `./speakup.toml` if present) ←
    /// `SPEAKUP_*` environment ← flags, then validates.
    pub fn load(overrides: &Overrides) -> Result<Settings, ConfigError> {
        let config_file = overrides
            .config_file
            .clone()
            .or_else(|| std::env::var_os("SPEAKUP_CONFIG").map(PathBuf::from));
        let mut figment = Figment::from(Serialized::defaults(RawSettings::default()));
        match &config_file {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError::File {
                        path: path.display().to_string(),
                        message: "not found".to_owned(),
                    });
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        let mut raw: RawSettings = figment
            .merge(Env::prefixed("SPEAKUP_").ignore(NON_SETTING_VARIABLES))
            .extract()
            .map_err(|error| ConfigError::Invalid(one_line(&error)))?;
        if let Some(bind) = &overrides.bind {
            raw.bind.clone_from(bind);
        }
        if let Some(data_dir) = &overrides.data_dir {
            raw.data_dir.clone_from(data_dir);
        }
        if let Some(url) = &overrides.database_url {
            raw.database_url.clone_from(url);
        }
        raw.validate()
    }
}

/// Figment's errors can span lines; operators get one.
fn one_line(error: &figment::Error) -> String {
    error.to_string().replace('\n', " ")
}

impl RawSettings {
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let bind: SocketAddr = self.bind.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "bind address {:?} is not an IP address and port such as 127.0.0.1:8080",
                self.bind
            ))
        })?;
        let database = parse_database_url(&self.database_url, &self.data_dir)?;
        let public_url = if self.public_url.is_empty() {
            format!("http://{bind}")
        } else {
            let trimmed = self.public_url.trim_end_matches('/').to_owned();
            if !(trimmed.starts_with("https://") || trimmed.starts_with("http://"))
                || trimmed.len() <= "https://".len()
            {
                return Err(ConfigError::Invalid(format!(
                    "public_url {:?} must start with https:// (or http:// for local use)",
                    self.public_url
                )));
            }
            trimmed
        };
        let log_level = match self.log_level.to_ascii_lowercase().as_str() {
            "error" => LogLevel::Error,
            "warn" => LogLevel::Warn,
            "info" => LogLevel::Info,
            "debug" => LogLevel::Debug,
            other => {
                return Err(ConfigError::Invalid(format!(
                    "log_level {other:?} must be one of error, warn, info, debug"
                )));
            }
        };
        require_range("pool_size", self.pool_size, 1, 256)?;
        require_range(
            "reporter_session_minutes",
            self.reporter_session_minutes,
            1,
            24 * 60,
        )?;
        require_range(
            "handler_idle_minutes",
            self.handler_idle_minutes,
            1,
            24 * 60,
        )?;
        require_range(
            "handler_absolute_hours",
            self.handler_absolute_hours,
            1,
            7 * 24,
        )?;
        require_range("setup_token_hours", self.setup_token_hours, 1, 7 * 24)?;
        // The upper bounds are generous so a load test can lift the limits; see README.
        require_range(
            "concern_submissions_per_hour",
            self.concern_submissions_per_hour,
            1,
            100_000_000,
        )?;
        require_range(
            "mailbox_sign_ins_per_minute",
            self.mailbox_sign_ins_per_minute,
            1,
            10_000_000,
        )?;
        require_range(
            "handler_sign_ins_per_minute",
            self.handler_sign_ins_per_minute,
            1,
            10_000,
        )?;
        require_range(
            "max_concurrent_password_checks",
            self.max_concurrent_password_checks,
            1,
            64,
        )?;
        require_range("max_attachment_mib", self.max_attachment_mib, 1, 4096)?;
        require_range(
            "max_case_attachments_mib",
            self.max_case_attachments_mib,
            self.max_attachment_mib,
            1024 * 1024,
        )?;
        require_range(
            "attachment_uploads_per_hour",
            self.attachment_uploads_per_hour,
            1,
            10_000_000,
        )?;
        let attachment_store =
            AttachmentStoreSetting::parse(&self.attachment_store, &self.data_dir)
                .map_err(|error| ConfigError::Invalid(error.to_string()))?;
        let metrics_token = match self.metrics_token.trim() {
            "" => None,
            token
                if token.len() < 16
                    || token.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                return Err(ConfigError::Invalid(
                    "metrics_token must be at least 16 characters without spaces".to_owned(),
                ));
            }
            token => Some(std::sync::Arc::new(crate::crypto::Secret::new(
                token.to_owned(),
            ))),
        };
        let mail = self.mail_settings()?;
        Ok(Settings {
            mail,
            bind,
            data_dir: self.data_dir,
            database,
            public_url,
            log_level,
            pool_size: self.pool_size,
            reporter_session_minutes: self.reporter_session_minutes,
            handler_idle_minutes: self.handler_idle_minutes,
            handler_absolute_hours: self.handler_absolute_hours,
            setup_token_hours: self.setup_token_hours,
            trust_forwarded_for: self.trust_forwarded_for,
            concern_submissions_per_hour: self.concern_submissions_per_hour,
            mailbox_sign_ins_per_minute: self.mailbox_sign_ins_per_minute,
            handler_sign_ins_per_minute: self.handler_sign_ins_per_minute,
            max_concurrent_password_checks: self.max_concurrent_password_checks,
            max_attachment_bytes: u64::from(self.max_attachment_mib) * MIB,
            max_case_attachment_bytes: u64::from(self.max_case_attachments_mib) * MIB,
            attachment_uploads_per_hour: self.attachment_uploads_per_hour,
            attachment_store,
            metrics_token,
        })
    }
}

impl RawSettings {
    fn mail_settings(&self) -> Result<MailSettings, ConfigError> {
        require_range("mail_poll_seconds", self.mail_poll_seconds, 1, 3600)?;
        let url = self.smtp_url.trim();
        let smtp = if url.is_empty() {
            None
        } else {
            let scheme = url.split_once("://").map(|(scheme, _)| scheme);
            if !matches!(scheme, Some("smtp" | "smtps" | "smtp+starttls")) {
                return Err(ConfigError::Invalid(format!(
                    "smtp_url {} must start with smtp://, smtps:// or smtp+starttls://",
                    redact_password(url)
                )));
            }
            if self.mail_from.trim().is_empty() {
                return Err(ConfigError::Invalid(
                    "mail_from is required with smtp_url, e.g. \
                     \"speakup <speakup@example.org>\""
                        .to_owned(),
                ));
            }
            Some(SmtpUrl(url.to_owned()))
        };
        Ok(MailSettings {
            smtp,
            from: self.mail_from.trim().to_owned(),
            poll_seconds: self.mail_poll_seconds,
        })
    }
}

fn require_range(name: &str, value: u32, min: u32, max: u32) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "{name} is {value}; it must be between {min} and {max}"
        )))
    }
}

pub fn parse_database_url(url: &str, data_dir: &Path) -> Result<DatabaseUrl, ConfigError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(DatabaseUrl::Sqlite(data_dir.join("speakup.db")));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let rest = url.split_once("://").map(|(_, rest)| rest).unwrap_or("");
        let host_part = rest.split(['/', '?']).next().unwrap_or("");
        let host_and_port = host_part.rsplit('@').next().unwrap_or("");
        if let Some((_, port)) = host_and_port.rsplit_once(':')
            && !host_and_port.ends_with(']')
            && port.parse::<u16>().is_err()
        {
            return Err(ConfigError::Invalid(format!(
                "database URL {} has a port that is not a number",
                redact_password(url)
            )));
        }
        return Ok(DatabaseUrl::Postgres(url.to_owned()));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(ConfigError::Invalid(
                "database URL sqlite:// needs a file path, e.g. sqlite://data/speakup.db".into(),
            ));
        }
        return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
    }
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    Err(ConfigError::Invalid(match scheme {
        Some(scheme) => format!(
            "database URL scheme {scheme:?} is not supported; use postgres://… or sqlite://…"
        ),
        None => format!(
            "database URL {:?} is not a URL; use postgres://user@host/db or sqlite://path/to/file.db",
            redact_password(url)
        ),
    }))
}

/// Hides the password in `scheme://user:password@host/…`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Makes sure the data directory exists and accepts writes, so a bad path fails at start with
/// one clear line instead of on the first submission.
pub fn ensure_writable_dir(dir: &Path) -> Result<(), ConfigError> {
    let unwritable = |error: std::io::Error| {
        ConfigError::Invalid(format!(
            "data directory {} is not writable: {}",
            dir.display(),
            error
        ))
    };
    std::fs::create_dir_all(dir).map_err(unwritable)?;
    let probe = dir.join(".speakup-write-probe");
    std::fs::write(&probe, b"ok").map_err(unwritable)?;
    std::fs::remove_file(&probe).map_err(unwritable)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail returns its own large error
mod tests {
    use super::*;
    use figment::Jail;

    fn load(overrides: &Overrides) -> Result<Settings, String> {
        Settings::load(overrides).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_give_sqlite_in_data_dir() {
        Jail::expect_with(|_| {
            let settings = load(&Overrides::default())?;
            assert_eq!(
                settings.database,
                DatabaseUrl::Sqlite(PathBuf::from("data/speakup.db"))
            );
            assert_eq!(settings.public_url, "http://127.0.0.1:8080");
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file_and_flags_override_environment() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "speakup.toml",
                "bind = \"127.0.0.1:9000\"\npool_size = 3\nlog_level = \"warn\"\n",
            )?;
            jail.set_env("SPEAKUP_POOL_SIZE", "5");
            jail.set_env("SPEAKUP_TEST_POSTGRES_URL", "postgres://ignored/");
            let settings = load(&Overrides::default())?;
            assert_eq!(settings.bind.port(), 9000);
            assert_eq!(settings.pool_size, 5);
            assert_eq!(settings.log_level, LogLevel::Warn);

            let overrides = Overrides {
                bind: Some("127.0.0.1:9100".into()),
                ..Overrides::default()
            };
            assert_eq!(load(&overrides)?.bind.port(), 9100);
            Ok(())
        });
    }

    #[test]
    fn config_file_can_be_named_by_environment() {
        Jail::expect_with(|jail| {
            jail.create_file("elsewhere.toml", "pool_size = 7\n")?;
            jail.set_env("SPEAKUP_CONFIG", "elsewhere.toml");
            assert_eq!(load(&Overrides::default())?.pool_size, 7);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused_in_file_and_environment() {
        Jail::expect_with(|jail| {
            jail.set_env("SPEAKUP_POLL_SIZE", "5");
            let error = load(&Overrides::default()).unwrap_err();
            assert!(error.contains("poll_size"), "{error}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.create_file("speakup.toml", "bnd = \"x\"\n")?;
            let error = load(&Overrides::default()).unwrap_err();
            assert!(error.contains("bnd"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_one_readable_line() {
        for (key, value, expected) in [
            ("SPEAKUP_BIND", "localhost", "bind address"),
            ("SPEAKUP_POOL_SIZE", "lots", "pool_size"),
            ("SPEAKUP_POOL_SIZE", "0", "pool_size"),
            ("SPEAKUP_DATABASE_URL", "mysql://x/y", "not supported"),
            (
                "SPEAKUP_DATABASE_URL",
                "postgres://u:secret@h:port/db",
                "port",
            ),
            ("SPEAKUP_PUBLIC_URL", "ftp://x", "public_url"),
            ("SPEAKUP_LOG_LEVEL", "loud", "log_level"),
        ] {
            Jail::expect_with(|jail| {
                jail.set_env(key, value);
                let error = load(&Overrides::default()).unwrap_err();
                assert!(
                    error.to_lowercase().contains(expected),
                    "{key}={value}: {error}"
                );
                assert!(!error.contains('\n'), "{error}");
                assert!(!error.contains("secret"), "{error}");
                Ok(())
            });
        }
    }

    #[test]
    fn missing_config_file_is_reported() {
        let overrides = Overrides {
            config_file: Some(PathBuf::from("/nonexistent/speakup.toml")),
            ..Overrides::default()
        };
        let error = Settings::load(&overrides).unwrap_err();
        assert!(error.to_string().contains("not found"));
    }

    #[test]
    fn database_urls() {
        let dir = Path::new("d");
        assert_eq!(
            parse_database_url("sqlite://x/y.db", dir).unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("x/y.db"))
        );
        assert!(matches!(
            parse_database_url("postgresql://postgres@127.0.0.1:5432/test", dir).unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(matches!(
            parse_database_url("postgres://[::1]/test", dir).unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(parse_database_url("speakup.db", dir).is_err());
        assert!(parse_database_url("sqlite://", dir).is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_password("postgres://user:hunter2@db:5432/speakup"),
            "postgres://user:***@db:5432/speakup"
        );
        assert_eq!(redact_password("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn unwritable_data_dir_is_refused() {
        let error = ensure_writable_dir(Path::new("/proc/speakup-cannot-exist")).unwrap_err();
        assert!(error.to_string().contains("not writable"));
    }
}
