//! The vision service: "what do you see?" answered from one camera frame by a small local vision model.
//!
//! Nothing streams video. A `look` tool call (`hearth/<site>/tool/call/look`, optional `question`) makes the
//! vision service ask the site's camera for one frame (`camera/capture` → `camera/frame`, JPEG on the bus, so camera
//! and model may run on different nodes); llama.cpp's multimodal library describes it with SmolVLM-256M-Instruct by
//! default, each sentence published on `vision/sentence` as soon as it exists and the whole answer as the call's
//! `tool/result`. The camera opens on demand and closes right after the frame.
//!
//! # Layout
//! - [`config`]: the `[vision]` and `[camera]` tables.
//! - [`picture`]: checked decoding (JPEG, PNG) with size and pixel limits, scaling, JPEG encoding.
//! - [`camera`]: one picture from a V4L2 device, a snapshot URL or a file; failures with spoken reasons.
//! - `v4l2` (Linux): the device capture and its pixel-format conversions.
//! - [`camera_service`]: the camera on the bus.
//! - [`switch`]: the camera's off switch, stored across restarts.
//! - [`engine`]: the model and projector, one answer sentence by sentence.
//! - [`service`]: the vision service on the bus and its engine thread.
//! - [`bench`]: `hearth-vision bench`, load, image tokens, encode and generation speed, splitting off and on.
//!
//! `engine`, `service`, `bench` and the `hearth-vision` program need the `engine` feature (llama.cpp with its
//! multimodal library); without it the camera, picture and bus parts build alone.

#[cfg(feature = "engine")]
pub mod bench;
pub mod camera;
pub mod camera_service;
pub mod config;
#[cfg(feature = "engine")]
pub mod engine;
pub mod picture;
#[cfg(feature = "engine")]
pub mod service;
pub mod switch;
#[cfg(target_os = "linux")]
pub mod v4l2;

use std::path::PathBuf;

use thiserror::Error;

pub use camera_service::run_camera;
pub use config::{CameraConfig, VisionConfig};
#[cfg(feature = "engine")]
pub use service::{run, VisionPaths};

#[derive(Debug, Error)]
pub enum VisionError {
    #[error("{}", config::missing_model_detail(.path))]
    MissingModel { path: PathBuf },
    #[error("cannot load {path}: {why}")]
    Load { path: PathBuf, why: String },
    #[error("llama.cpp: {0}")]
    Llama(String),
    #[error("the picture and prompt take {tokens} tokens, too many for the context window of {context}")]
    ContextOverflow { tokens: usize, context: usize },
    #[error(transparent)]
    Picture(#[from] picture::PictureError),
    #[error(transparent)]
    Camera(#[from] camera::CameraError),
    #[error("stopped")]
    Cancelled,
    #[error("engine thread: {0}")]
    Thread(String),
    #[error(transparent)]
    Bus(#[from] hearth_bus::BusError),
}
