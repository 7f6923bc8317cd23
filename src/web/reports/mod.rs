//! Governance report outputs (JSON, CSV, the board paper) shared by the web and the CLI.

pub mod board_paper;
pub mod charts;
pub mod csv_file;
pub mod table;
