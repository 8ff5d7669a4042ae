//! `hearth broker`: the embedded broker in the foreground.

use std::process::ExitCode;

use hearth_broker::BrokerConfig;
use hearth_node::NodeFile;

pub async fn run(file: &NodeFile) -> anyhow::Result<ExitCode> {
    let config: BrokerConfig = file.section("broker")?;
    let handle = hearth_broker::start(&config)?;
    println!("broker ready: mqtt {} mqtt5 {:?} websocket {:?}", handle.mqtt, handle.mqtt5, handle.websocket);
    // systemd (Type=notify) learns the broker is ready only now that clients can connect.
    let _systemd = hearth_node::systemd::Systemd::ready_now("broker ready");
    hearth_bus::Shutdown::on_signals().wait().await;
    Ok(ExitCode::SUCCESS)
}
