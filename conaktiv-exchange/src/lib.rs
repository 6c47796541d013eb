//! # conaktiv-exchange
//!
//! Ties the workspace together: host traits and their SQLite defaults, the Exchange adapters
//! for each table, rule resolution, preview, batch scheduler and the `conaktiv-exchange` CLI.
#![warn(missing_docs)]

pub mod batch_tasks;
pub mod clock;
pub mod config_directory;
pub mod crm_side;
pub mod exchange;
pub mod filter;
pub mod graph_side;
pub mod host;
pub mod linking;
pub mod mail_store;
pub mod mapping;
pub mod migrate;
pub mod rules;
pub mod scheduler;
pub mod secrets;
pub mod service;
pub mod sqlite;
