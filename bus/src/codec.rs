//! Payload encoding. Each message type declares its topic suffix and its encoding once; encoding and
//! decoding live here, beside the [`Message`] trait.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::BusError;

/// How a payload is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 JSON object: readable by `mosquitto_sub` and Home Assistant.
    Json,
    /// MessagePack with named fields: compact, used for audio.
    Msgpack,
}

/// A typed bus message with its place in the topic tree.
pub trait Message: Serialize + DeserializeOwned + Send + 'static {
    /// Topic after `hearth/<site>/`, e.g. `wake/detected`.
    const SUFFIX: &'static str;
    const ENCODING: Encoding;
    /// Whether the broker keeps the last one for late subscribers (states and descriptions).
    const RETAIN: bool = false;

    /// Whether a topic suffix (after `hearth/<site>/`) carries this message.
    fn matches(suffix: &str) -> bool {
        suffix == Self::SUFFIX
    }

    fn to_payload(&self) -> Result<Vec<u8>, BusError> {
        let what = Self::SUFFIX;
        match Self::ENCODING {
            Encoding::Json => serde_json::to_vec(self).map_err(|source| BusError::EncodeJson { what, source }),
            Encoding::Msgpack => {
                rmp_serde::to_vec_named(self).map_err(|source| BusError::EncodeMsgpack { what, source })
            }
        }
    }

    fn from_payload(bytes: &[u8]) -> Result<Self, BusError> {
        let what = Self::SUFFIX;
        match Self::ENCODING {
            Encoding::Json => serde_json::from_slice(bytes).map_err(|source| BusError::DecodeJson { what, source }),
            Encoding::Msgpack => {
                rmp_serde::from_slice(bytes).map_err(|source| BusError::DecodeMsgpack { what, source })
            }
        }
    }
}

/// Per-topic count of payloads that failed to decode and were dropped, for this process.
static DROPPED: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// Counts one dropped payload on `topic` and returns the new count for that topic.
pub fn count_dropped(topic: &str) -> u64 {
    let mut map = DROPPED.lock().unwrap_or_else(|e| e.into_inner());
    let n = map.entry(topic.to_string()).or_insert(0);
    *n += 1;
    *n
}

/// A snapshot of the dropped-payload counters, by topic.
pub fn dropped_payloads() -> BTreeMap<String, u64> {
    DROPPED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Declares a JSON message: `json_message!(Type, "domain/event")` or with `retain`.
#[macro_export]
macro_rules! json_message {
    ($ty:ty, $suffix:expr) => {
        impl $crate::codec::Message for $ty {
            const SUFFIX: &'static str = $suffix;
            const ENCODING: $crate::codec::Encoding = $crate::codec::Encoding::Json;
        }
    };
    ($ty:ty, $suffix:expr, retain) => {
        impl $crate::codec::Message for $ty {
            const SUFFIX: &'static str = $suffix;
            const ENCODING: $crate::codec::Encoding = $crate::codec::Encoding::Json;
            const RETAIN: bool = true;
        }
    };
}

/// Declares a msgpack message.
#[macro_export]
macro_rules! msgpack_message {
    ($ty:ty, $suffix:expr) => {
        impl $crate::codec::Message for $ty {
            const SUFFIX: &'static str = $suffix;
            const ENCODING: $crate::codec::Encoding = $crate::codec::Encoding::Msgpack;
        }
    };
}
