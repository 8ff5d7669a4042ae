//! Hearth's wake word service. The engine, [`WakeDetector`], is openWakeWord's streaming pipeline on
//! ONNX Runtime; the service feeds it the microphone frames of every site and publishes
//! `wake/detected` with a new session id.
//!
//! # Layout
//! - [`onnx`]: loading ONNX Runtime at run time, one environment per process, model sessions.
//! - [`detector`]: [`WakeDetector`], the engine (mel → embedding → word classifiers, thresholds).
//! - [`clip`]: a whole recording scored at once (per word maximum and detections).
//! - [`config`]: the `[wake]` table.
//! - [`service`]: [`run`], the bus shell.
//! - [`state`]: the stored on/off switch of each site.
//! - [`testkit`]: helpers for tests in this and other crates (shared models and audio, `assert_quiet_on`).

pub mod clip;
pub mod config;
pub mod detector;
pub mod onnx;
pub mod service;
pub mod state;
pub mod testkit;

pub use config::{WakeConfig, WordConfig};
pub use detector::{Detection, DetectorSpec, WakeDetector, WordSpec};
pub use service::{run, WakeError};
