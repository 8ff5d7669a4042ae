//! What every Hearth process shares: reading the node's config file, setting up logging, and the
//! lifecycle of one service (connect to the bus, run until shutdown, say goodbye).
//!
//! A node has one TOML file. Top-level keys (`site`, `data_dir`) and the `[bus]` table are common;
//! every service reads only its own table (`[asr]`, `[wake]`, …), so separate binaries (ASR and LLM
//! cannot share one) read the same file.
//!
//! # Layout
//! - [`config`]: locating and parsing the node file, per-service sections with key-naming errors.
//! - [`logging`]: tracing setup.
//! - [`lifecycle`]: `serve`, the one way a service process runs.
//! - [`systemd`]: sd_notify readiness, watchdog and stopping for `Type=notify` units.
//! - [`words`]: numbers, durations and clock times as spoken words, both ways.

pub mod config;
pub mod lifecycle;
pub mod logging;
pub mod systemd;
pub mod words;

pub use config::{NodeConfig, NodeFile};
pub use lifecycle::serve;
