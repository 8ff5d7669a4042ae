//! Identifiers: random, short, readable in `mosquitto_sub` output.

use rand::Rng;

/// A new random id of 16 lowercase hex digits (64 bits: collisions are not a concern in one house).
pub fn new_id() -> String {
    format!("{:016x}", rand::thread_rng().gen::<u64>())
}

/// Milliseconds since the Unix epoch, the timestamp unit of every event.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
