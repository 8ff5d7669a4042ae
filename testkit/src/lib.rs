//! Helpers shared by Hearth's tests, and only by tests (every user lists it under `[dev-dependencies]`,
//! so none of it reaches a release binary): a real broker on free loopback ports, services started
//! in-process and awaited through their own retained `online` status rather than a sleep, a [`Probe`]
//! that waits for bus messages with timeouts, and the one rule for finding `../shared` and for skipping a
//! test whose prerequisites are missing (outside CI only).
//!
//! # Layout
//! - [`env`]: [`in_ci`], [`skip`], [`shared_dir`], [`shared_file`], [`workspace_binary`].
//! - [`broker`]: [`start_broker`] and its [`TestBroker`].
//! - [`service`]: [`start_service`] and its [`RunningService`].
//! - [`probe`]: [`Probe`], a test client that waits for messages.

pub mod broker;
pub mod env;
pub mod probe;
pub mod service;

use std::time::Duration;

pub use broker::{start_broker, TestBroker};
pub use env::{in_ci, shared_dir, shared_file, skip, workspace_binary};
pub use probe::Probe;
pub use service::{start_service, start_service_reporting, RunningService};

/// Every wait in the tests is bounded by this: long enough for a loaded CI machine, so no assertion
/// depends on how fast it is.
pub const WAIT: Duration = Duration::from_secs(45);
