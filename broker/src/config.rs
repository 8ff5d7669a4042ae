//! The `[broker]` table.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::BrokerError;

/// Which listener a setting belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    Mqtt,
    Mqtt5,
    Websocket,
}

/// Embedded broker settings. Listeners bound to loopback accept anonymous clients; any listener
/// reachable from the network requires a user name and password from `users`.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerConfig {
    /// MQTT 3.1.1 listener. Use `0.0.0.0:1883` on the master of a cluster (then `users` is required).
    pub mqtt: SocketAddr,
    /// MQTT 5 listener; absent disables it.
    pub mqtt5: Option<SocketAddr>,
    /// WebSocket listener for browsers and laptop bridges (MQTT 3.1.1 over WS); absent disables it.
    pub websocket: Option<SocketAddr>,
    /// Largest publish accepted, bytes. Must hold a whole captured utterance (30 s of 16 kHz s16 is
    /// 960 KiB) and match the clients' `bus.max_packet_bytes`.
    pub max_payload_bytes: usize,
    /// Most simultaneous client connections.
    pub max_connections: usize,
    /// Unacknowledged QoS 1 messages per connection.
    pub max_inflight: usize,
    /// User name → password. Required when any listener is not on loopback. Never printed.
    pub users: BTreeMap<String, String>,
    /// Allow clients without credentials on non-loopback listeners (not recommended).
    pub allow_anonymous: bool,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            mqtt: "127.0.0.1:1883".parse().expect("literal address"),
            mqtt5: Some("127.0.0.1:1884".parse().expect("literal address")),
            websocket: Some("127.0.0.1:8083".parse().expect("literal address")),
            max_payload_bytes: 4 * 1024 * 1024,
            max_connections: 256,
            max_inflight: 500,
            users: BTreeMap::new(),
            allow_anonymous: false,
        }
    }
}

impl fmt::Debug for BrokerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("mqtt", &self.mqtt)
            .field("mqtt5", &self.mqtt5)
            .field("websocket", &self.websocket)
            .field("max_payload_bytes", &self.max_payload_bytes)
            .field("max_connections", &self.max_connections)
            .field("max_inflight", &self.max_inflight)
            .field("users", &self.users.keys().map(|u| (u, "<hidden>")).collect::<BTreeMap<_, _>>())
            .field("allow_anonymous", &self.allow_anonymous)
            .finish()
    }
}

impl BrokerConfig {
    /// Enabled listeners with their config key.
    pub fn listeners(&self) -> Vec<(&'static str, SocketAddr)> {
        let mut v = vec![("broker.mqtt", self.mqtt)];
        if let Some(a) = self.mqtt5 {
            v.push(("broker.mqtt5", a));
        }
        if let Some(a) = self.websocket {
            v.push(("broker.websocket", a));
        }
        v
    }

    pub fn validate(&self) -> Result<(), BrokerError> {
        let bad = |key: &str, why: String| Err(BrokerError::Config { key: key.into(), why });
        let listeners = self.listeners();
        for (i, (key, addr)) in listeners.iter().enumerate() {
            if addr.port() == 0 {
                return bad(key, "needs a port (1 to 65535)".into());
            }
            if let Some((other, _)) = listeners[..i].iter().find(|(_, a)| a.port() == addr.port()) {
                return bad(key, format!("uses port {} like `{other}`", addr.port()));
            }
            if !addr.ip().is_loopback() && self.users.is_empty() && !self.allow_anonymous {
                return bad(
                    key,
                    format!(
                        "{addr} is reachable from the network, so clients must log in: add users under [broker.users] \
                         (e.g. hearth = \"a long password\") or bind to 127.0.0.1"
                    ),
                );
            }
        }
        if self.max_payload_bytes < 64 * 1024 {
            return bad("broker.max_payload_bytes", "must be at least 65536 (audio utterances are large)".into());
        }
        if self.max_connections == 0 {
            return bad("broker.max_connections", "must be at least 1".into());
        }
        if self.max_inflight == 0 || self.max_inflight > u16::MAX as usize {
            return bad("broker.max_inflight", "must be 1 to 65535".into());
        }
        for (user, pass) in &self.users {
            if user.is_empty() || pass.is_empty() {
                return bad("broker.users", "user names and passwords must not be empty".into());
            }
        }
        Ok(())
    }

    /// rumqttd's configuration for these settings.
    pub fn to_rumqttd(&self) -> rumqttd::Config {
        let server = |name: &str, listen: SocketAddr| {
            let auth = if listen.ip().is_loopback() || self.users.is_empty() {
                None
            } else {
                Some(self.users.iter().map(|(u, p)| (u.clone(), p.clone())).collect::<HashMap<_, _>>())
            };
            let settings = rumqttd::ServerSettings {
                name: name.into(),
                listen,
                tls: None,
                next_connection_delay_ms: 1,
                connections: rumqttd::ConnectionSettings {
                    connection_timeout_ms: 60_000,
                    max_payload_size: self.max_payload_bytes,
                    max_inflight_count: self.max_inflight,
                    auth,
                    external_auth: None,
                    dynamic_filters: true,
                },
            };
            HashMap::from([("1".to_string(), settings)])
        };
        rumqttd::Config {
            id: 0,
            router: rumqttd::RouterConfig {
                max_connections: self.max_connections,
                // Audio arrives at 50 frames a second per site; give slow readers room before drops.
                max_outgoing_packet_count: 1000,
                // Bounded memory per topic: two 8 MiB segments (a segment must hold an utterance).
                max_segment_size: 8 * 1024 * 1024,
                max_segment_count: 2,
                custom_segment: None,
                initialized_filters: None,
                shared_subscriptions_strategy: Default::default(),
            },
            v4: Some(server("mqtt", self.mqtt)),
            v5: self.mqtt5.map(|a| server("mqtt5", a)),
            ws: self.websocket.map(|a| server("websocket", a)),
            // rumqttd's timer unwraps both intervals whichever is set, so meters get a (rare) one too.
            metrics: Some(HashMap::from([
                (rumqttd::MetricType::Alerts, push_interval(crate::alerts::PUSH_INTERVAL_S)),
                (rumqttd::MetricType::Meters, push_interval(3600)),
            ])),
            ..Default::default()
        }
    }
}

/// rumqttd's `MetricSettings` has no public constructor, only its serde form.
fn push_interval(seconds: u64) -> rumqttd::MetricSettings {
    toml::from_str(&format!("push_interval = {seconds}")).expect("literal settings")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_loopback() {
        let c = BrokerConfig::default();
        c.validate().unwrap();
        assert!(c.to_rumqttd().v4.unwrap()["1"].connections.auth.is_none());
    }

    #[test]
    fn network_listener_needs_users() {
        let mut c = BrokerConfig { mqtt: "0.0.0.0:1883".parse().unwrap(), ..Default::default() };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("broker.mqtt") && err.contains("[broker.users]"), "{err}");
        c.users.insert("hearth".into(), "pw".into());
        c.validate().unwrap();
        assert!(c.to_rumqttd().v4.unwrap()["1"].connections.auth.is_some());
        assert!(!format!("{c:?}").contains("pw"));
    }

    #[test]
    fn duplicate_ports_and_small_payloads_are_named() {
        let c = BrokerConfig { mqtt5: Some("127.0.0.1:1883".parse().unwrap()), ..Default::default() };
        assert!(c.validate().unwrap_err().to_string().contains("broker.mqtt5"));
        let c = BrokerConfig { max_payload_bytes: 10, ..Default::default() };
        assert!(c.validate().unwrap_err().to_string().contains("max_payload_bytes"));
    }

    #[test]
    fn parses_from_toml() {
        let c: BrokerConfig = toml::from_str("mqtt = \"127.0.0.1:2883\"\nwebsocket = \"127.0.0.1:9001\"\n").unwrap();
        assert_eq!(c.mqtt.port(), 2883);
        assert!(toml::from_str::<BrokerConfig>("mqttt = 1").is_err());
    }
}
