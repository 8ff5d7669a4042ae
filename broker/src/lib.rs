//! Hearth's embedded MQTT broker: rumqttd configured from the node file's `[broker]` table, validated
//! before it starts, and ready only once a client can connect.
//!
//! rumqttd's `Broker::start` blocks forever and has no stop, so the broker runs on its own named
//! thread for the life of the process; [`start`] returns once the listeners accept connections.
//! Retained messages and wills live in memory only: durable state (timers) is kept by the services.
//!
//! Memory stays bounded whoever stops reading: each subscription filter keeps its messages in a log of
//! at most two segments, and a client that falls further behind than that log skips ahead to its
//! oldest message (its backlog is dropped, never queued without end). Other clients read the same log
//! with their own cursors and are not held back. Each skip is logged and counted
//! ([`BrokerHandle::lagging_skips`]); see `architecture.md` beside this crate's `Cargo.toml`.
//!
//! # Layout
//! - [`config`]: the `[broker]` table, its validation, and the translation to rumqttd's config.
//! - [`start`], [`BrokerHandle`]: run and wait for readiness; [`start_on_free_ports`] for tests.
//! - [`alerts`]: counts the clients that fell behind their log and skipped ahead.
//! - [`nodelay`]: turns Nagle's algorithm off on rumqttd's listeners (rumqttd has no setting for it).

mod alerts;
pub mod config;
mod nodelay;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use thiserror::Error;
use tracing::info;

pub use config::{BrokerConfig, Listener};

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error("invalid broker setting `{key}`: {why}")]
    Config { key: String, why: String },
    #[error("cannot listen on {addr} (`{key}`): {source}. Another broker (mosquitto?) or a running `hearth up` may hold the port; stop it or choose another port in [broker].")]
    PortTaken { key: &'static str, addr: SocketAddr, source: std::io::Error },
    #[error("the broker did not accept connections on {addr} within {waited_ms} ms")]
    NotReady { addr: SocketAddr, waited_ms: u64 },
    #[error("could not start the broker thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// A running broker. It cannot be stopped (rumqttd has no stop); it ends with the process.
#[derive(Debug, Clone)]
pub struct BrokerHandle {
    /// MQTT 3.1.1 address.
    pub mqtt: SocketAddr,
    /// MQTT 5 address, if enabled.
    pub mqtt5: Option<SocketAddr>,
    /// WebSocket (MQTT 3.1.1 over WS) address, if enabled.
    pub websocket: Option<SocketAddr>,
    skips: Arc<alerts::SkipCounter>,
}

impl BrokerHandle {
    /// How many times a client fell further behind than its subscription's log holds and skipped
    /// ahead, dropping its backlog, since the broker started. Updated about once a second.
    pub fn lagging_skips(&self) -> u64 {
        self.skips.total()
    }
}

/// Validates `config`, starts the broker on its own thread and returns when a TCP client can connect
/// to the MQTT listener (or fails with a message naming the key at fault).
pub fn start(config: &BrokerConfig) -> Result<BrokerHandle, BrokerError> {
    config.validate()?;
    // rumqttd only logs a failed bind inside its server thread; check the ports first so the user
    // gets an error that names the key and the likely culprit.
    for (key, addr) in config.listeners() {
        TcpListener::bind(addr).map_err(|source| BrokerError::PortTaken { key, addr, source })?;
    }
    let rumqttd_config = config.to_rumqttd();
    let skips = Arc::new(alerts::SkipCounter::default());
    let counter = skips.clone();
    std::thread::Builder::new().name("broker".into()).spawn(move || {
        let mut broker = rumqttd::Broker::new(rumqttd_config);
        alerts::watch(&broker, counter);
        if let Err(error) = broker.start() {
            tracing::error!(%error, "broker stopped");
        }
    })?;
    let handle = BrokerHandle { mqtt: config.mqtt, mqtt5: config.mqtt5, websocket: config.websocket, skips };
    wait_until_accepting(connect_addr(handle.mqtt), Duration::from_secs(10))?;
    turn_nagle_off(config);
    info!(mqtt = %handle.mqtt, mqtt5 = ?handle.mqtt5, websocket = ?handle.websocket, "broker ready");
    Ok(handle)
}

/// Sets TCP_NODELAY on every listener once rumqttd has bound it (each listener has its own thread), so
/// that the connections they accept inherit it. See [`nodelay`].
fn turn_nagle_off(config: &BrokerConfig) {
    let ports: Vec<u16> = config.listeners().iter().map(|(_, a)| a.port()).collect();
    if !std::path::Path::new("/proc/self/fd").is_dir() {
        tracing::warn!(?ports, "no /proc/self/fd: Nagle's algorithm stays on for the broker's connections");
        return;
    }
    let started = Instant::now();
    let mut done: Vec<u16> = Vec::new();
    while done.len() < ports.len() {
        let pending: Vec<u16> = ports.iter().copied().filter(|p| !done.contains(p)).collect();
        done.extend(nodelay::set_on_local_ports(&pending));
        if done.len() >= ports.len() {
            return;
        }
        if started.elapsed() > Duration::from_secs(5) {
            tracing::warn!(?pending, "Nagle's algorithm is still on for these broker ports: small messages may wait for delayed ACKs");
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts a loopback broker on free ports (for tests and benchmarks).
pub fn start_on_free_ports() -> Result<BrokerHandle, BrokerError> {
    // Hold all three sockets while choosing, so the OS cannot hand out one port twice.
    let held: Vec<TcpListener> = (0..3).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<Result<_, _>>()?;
    let addrs: Vec<SocketAddr> = held.iter().map(TcpListener::local_addr).collect::<Result<_, _>>()?;
    drop(held);
    let config = BrokerConfig { mqtt: addrs[0], mqtt5: Some(addrs[1]), websocket: Some(addrs[2]), ..BrokerConfig::default() };
    start(&config)
}

/// A loopback address with a port the OS just handed out.
pub fn free_loopback_port() -> Result<SocketAddr, BrokerError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// The address a local client uses to reach a listener (0.0.0.0 is reached through loopback).
fn connect_addr(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    }
}

fn wait_until_accepting(addr: SocketAddr, timeout: Duration) -> Result<(), BrokerError> {
    let started = Instant::now();
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(BrokerError::NotReady { addr, waited_ms: timeout.as_millis() as u64 });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
