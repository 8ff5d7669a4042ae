//! `hearth broker`: the embedded broker in the foreground, with the wake word arbiter beside it.

use std::process::ExitCode;

use anyhow::Context;
use hearth_broker::{BrokerConfig, BrokerHandle};
use hearth_bus::{Bus, Shutdown};
use hearth_node::NodeFile;
use hearth_wake::ArbiterConfig;
use tracing::{info, warn};

pub async fn run(file: &NodeFile) -> anyhow::Result<ExitCode> {
    let config: BrokerConfig = file.section("broker")?;
    let handle = hearth_broker::start(&config)?;
    println!("broker ready: mqtt {} mqtt5 {:?} websocket {:?}", handle.mqtt, handle.mqtt5, handle.websocket);
    let shutdown = Shutdown::on_signals();
    let arbiter = start_arbiter(file, &handle, shutdown.clone())?;
    // systemd (Type=notify) learns the broker is ready only now that clients can connect.
    let _systemd = hearth_node::systemd::Systemd::ready_now("broker ready");
    shutdown.wait().await;
    if let Some(task) = arbiter {
        let _ = task.await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts the wake word arbiter in this process, connected to the broker just started: there is one
/// broker per house, so this makes one arbiter per house. `None` when `[arbiter] enabled = false`.
pub fn start_arbiter(
    file: &NodeFile,
    broker: &BrokerHandle,
    shutdown: Shutdown,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let config: ArbiterConfig = file.section("arbiter")?;
    config.validate().map_err(|(key, why)| file.invalid(key, why))?;
    if !config.enabled {
        info!("wake word arbiter off ([arbiter] enabled = false): every room answers for itself");
        return Ok(None);
    }
    // The node's credentials, but the local listener: the arbiter sits beside the broker.
    let mut bus = file.node.bus.clone();
    bus.host = if broker.mqtt.ip().is_unspecified() { "127.0.0.1".into() } else { broker.mqtt.ip().to_string() };
    bus.port = broker.mqtt.port();
    let site = file.node.site.clone();
    let (client, connection) =
        Bus::connect(&bus, hearth_bus::wake::ARBITER_SERVICE, &site).context("cannot connect the wake word arbiter")?;
    Ok(Some(tokio::spawn(async move {
        if let Err(error) = hearth_wake::arbiter_service::run(config, client, shutdown).await {
            warn!(%error, "the wake word arbiter stopped");
        }
        connection.close().await;
    })))
}
