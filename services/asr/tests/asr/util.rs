//! Shared helpers: fixture paths, ../shared lookup, test audio, waits with timeouts.

use std::path::PathBuf;
use std::time::Duration;

use hearth_bus::{Envelope, Inbox};

pub const WAIT: Duration = Duration::from_secs(60);

/// The committed "hello world" model (fixtures/whisper/make_phrase.py).
pub fn hello_world_model() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/whisper/ggml-hello-world.bin"))
}

/// `$HEARTH_SHARED`, else `<workspace>/../shared`; `None` (after saying so) when absent, except
/// under `CI=true`, where it is a failure.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("../shared not found at {} (set HEARTH_SHARED)", dir.display());
    }
    eprintln!("skipping: ../shared not found (set HEARTH_SHARED)");
    None
}

/// `seconds` of a speech-like signal at `rate_hz` with `channels` identical channels, as s16 LE bytes.
pub fn pcm(seconds: f32, rate_hz: u32, channels: u16) -> Vec<u8> {
    let n = (seconds * rate_hz as f32) as usize;
    (0..n)
        .flat_map(|i| {
            let t = i as f32 / rate_hz as f32;
            let v = (0.2 * (2.0 * std::f32::consts::PI * 220.0 * t).sin() * 32767.0) as i16;
            std::iter::repeat_n(v, channels as usize)
        })
        .flat_map(|s| s.to_le_bytes())
        .collect()
}

pub async fn next_matching(inbox: &mut Inbox, pred: impl Fn(&Envelope) -> bool) -> Envelope {
    inbox.next_matching(WAIT, pred).await.expect("timed out waiting for a message")
}
