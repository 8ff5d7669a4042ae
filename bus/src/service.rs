//! Service health and description: a retained status with an MQTT last will, and a retained info.

use serde::{Deserialize, Serialize};

use crate::codec::Message;
use crate::topic;

/// Health of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Connected and working.
    Online,
    /// Connected but cannot work (model or device missing); `detail` says why and how to fix it.
    Unavailable,
    /// Gone: published by the service on clean exit, and by the broker as the last will.
    Offline,
    #[serde(other)]
    Unknown,
}

/// The `detail` of the `unavailable` status a service announces from connecting until it is ready
/// (its model loaded, its device open).
pub const STARTING: &str = "starting";

/// Retained status, on `hearth/<site>/service/<service>/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub state: ServiceState,
    /// Human-readable reason for `unavailable`, with the command that fixes it.
    #[serde(default)]
    pub detail: Option<String>,
    pub timestamp_ms: i64,
}

impl Message for ServiceStatus {
    const SUFFIX: &'static str = "service/+/status";
    const ENCODING: crate::Encoding = crate::Encoding::Json;
    const RETAIN: bool = true;

    fn matches(suffix: &str) -> bool {
        service_of(suffix, "status").is_some()
    }
}

/// Retained description, on `hearth/<site>/service/<service>/info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub service: String,
    /// Crate version.
    pub version: String,
    /// What it can do, e.g. `["wake:hey_jarvis", "vad:silero"]`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Host name of the machine it runs on.
    #[serde(default)]
    pub host: Option<String>,
}

impl Message for ServiceInfo {
    const SUFFIX: &'static str = "service/+/info";
    const ENCODING: crate::Encoding = crate::Encoding::Json;
    const RETAIN: bool = true;

    fn matches(suffix: &str) -> bool {
        service_of(suffix, "info").is_some()
    }
}

/// `hearth/<site>/service/<service>/status`.
pub fn status_topic(site: &str, service: &str) -> String {
    topic::topic(site, &format!("service/{service}/status"))
}

/// `hearth/<site>/service/<service>/info`.
pub fn info_topic(site: &str, service: &str) -> String {
    topic::topic(site, &format!("service/{service}/info"))
}

/// The service name in a `service/<service>/<leaf>` suffix.
pub fn service_of<'a>(suffix: &'a str, leaf: &str) -> Option<&'a str> {
    let rest = suffix.strip_prefix("service/")?;
    let (name, l) = rest.split_once('/')?;
    (l == leaf && !name.is_empty()).then_some(name)
}
