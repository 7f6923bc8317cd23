//! Structured logs to stderr. The request log (web::request_log) is the only HTTP logging; no
//! access-log format with client addresses or user agents is ever installed.

use std::io::IsTerminal;

use tracing::level_filters::LevelFilter;

use crate::config::LogLevel;

pub fn init(level: LogLevel) {
    let filter = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
    };
    // try_init: a second call (tests, repeated commands) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
