//! speakup: a secure anonymous reporting portal for the Scottish National Whistleblowing
//! Standards. See docs/ARCHITECTURE.md for the layers: `web` → `service` → (`crypto`,
//! `procedure`, `store`), and where each kind of change goes.

pub mod blobs;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod housekeeping;
pub mod ids;
pub mod memory;
pub mod model;
pub mod notify;
pub mod procedure;
pub mod service;
pub mod store;
pub mod strip;
pub mod telemetry;
pub mod web;
