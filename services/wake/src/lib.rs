//! Hearth's wake word service. The engine, [`WakeDetector`], is openWakeWord's streaming pipeline on
//! ONNX Runtime; the service feeds it the microphone frames of the sites it serves and publishes a
//! candidate (`wake/heard`) for the [`arbiter`], which lets exactly one room answer each wake word
//! (`wake/detected` with a new session id); without an arbiter online it publishes `wake/detected`
//! itself.
//!
//! # Layout
//! - [`onnx`]: loading ONNX Runtime at run time, one environment per process, model sessions.
//! - [`detector`]: [`WakeDetector`], the engine (mel → embedding → word classifiers, thresholds).
//! - [`clip`]: a whole recording scored at once (per word maximum and detections).
//! - [`config`]: the `[wake]` table.
//! - [`service`]: [`run`], the bus shell.
//! - [`arbiter`]: one answer per wake word: the pure decision between rooms, and its `[arbiter]` table.
//! - [`arbiter_service`]: the arbiter on the bus (run once per house, beside the broker).
//! - [`state`]: the stored on/off switch of each site.
//! - [`testkit`]: helpers for tests in this and other crates (shared models and audio, `assert_quiet_on`).

pub mod arbiter;
pub mod arbiter_service;
pub mod clip;
pub mod config;
pub mod detector;
pub mod onnx;
pub mod service;
pub mod state;
pub mod testkit;

pub use arbiter::ArbiterConfig;
pub use config::{WakeConfig, WordConfig};
pub use detector::{Detection, DetectorSpec, WakeDetector, WordSpec};
pub use service::{run, WakeError};
