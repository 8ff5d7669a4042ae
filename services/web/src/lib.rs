//! Hearth's web satellite: any browser on the LAN becomes a room. The service serves one page over
//! HTTPS from the binary (no web server to install), asks for a login, and bridges the page's
//! WebSocket to the bus: the browser's microphone (captured in an AudioWorklet, resampled to 16 kHz)
//! becomes the site's `audio/frame`, and replies, chimes and announcements come back to be played
//! through Web Audio. The wake word of that site runs on the server like any other site's (its wake and
//! listen services must serve it: `sites = ["*"]` or the site listed).
//!
//! # Layout
//! - [`config`]: the `[web]` table (listener, users, certificate).
//! - [`tls`]: the user's certificate, or a generated self-signed one kept under `data_dir`.
//! - [`http`]: the small HTTP/1.1 reader and writer the page, the login and the upgrade need.
//! - [`server`]: [`run`]: accepts connections, routes, keeps the logins.
//! - [`bridge`]: one page's WebSocket as one room on the bus.
//! - `assets/`: the page, its script and the capture worklet, compiled into the binary.

pub mod bridge;
pub mod config;
pub mod http;
pub mod server;
pub mod tls;

pub use config::WebConfig;
pub use server::{run, WebError};
