//! Can this node reach the broker with its `[bus]` settings, and does the broker accept its login?

use std::time::Duration;

use hearth_bus::BusConfig;
use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet};

use crate::report::Check;

/// Resolves the broker's name, connects with the configured credentials and waits for the ConnAck.
pub async fn check_broker(bus: &BusConfig, timeout: Duration) -> Check {
    let addr = bus.addr();
    let resolved = tokio::time::timeout(timeout, tokio::net::lookup_host(addr.clone())).await;
    let found = match resolved {
        Ok(Ok(mut addrs)) => addrs.next().is_some(),
        _ => false,
    };
    if !found {
        let fix = if bus.host.ends_with(".local") {
            format!(
                "mDNS: sudo apt-get install avahi-daemon libnss-mdns on this machine and the master, then \
                 `avahi-resolve -n {}` must answer",
                bus.host
            )
        } else {
            "set [bus] host to the broker's name (its mDNS name, e.g. master.local)".to_string()
        };
        return Check::fail("broker", format!("cannot resolve {}", bus.host), fix);
    }

    let mut options = MqttOptions::new(format!("hearth-doctor-{}", std::process::id()), bus.host.clone(), bus.port);
    options.set_keep_alive(Duration::from_secs(5)).set_clean_session(true);
    options.set_max_packet_size(bus.max_packet_bytes, bus.max_packet_bytes);
    if let (Some(u), Some(p)) = (&bus.username, &bus.password) {
        options.set_credentials(u.clone(), p.clone());
    }
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let waited = tokio::time::timeout(timeout, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Ok(ack.code),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    let _ = client.try_disconnect();
    let login = match &bus.username {
        Some(u) => format!("as {u}"),
        None => "without a login".to_string(),
    };
    let credentials_fix = "make [bus] username/password on this node match an entry of [broker.users] on the master";
    match waited {
        Ok(Ok(ConnectReturnCode::Success)) => Check::ok("broker", format!("connected to {addr} {login}")),
        Ok(Ok(code)) | Ok(Err(ConnectionError::ConnectionRefused(code))) => match code {
            ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized => {
                Check::fail("broker", format!("{addr} refused the login {login} ({code:?})"), credentials_fix)
            }
            other => Check::fail("broker", format!("{addr} refused the connection ({other:?})"), credentials_fix),
        },
        Ok(Err(ConnectionError::Io(e))) if e.kind() == std::io::ErrorKind::ConnectionRefused => Check::fail(
            "broker",
            format!("nothing listens on {addr}"),
            "start the broker on the master: sudo systemctl start hearth-broker (or run `hearth up` for one machine)",
        ),
        Ok(Err(e)) => Check::fail(
            "broker",
            format!("{addr}: {e}"),
            format!("check the broker runs (sudo systemctl status hearth-broker on the master); {credentials_fix}"),
        ),
        Err(_) => Check::fail(
            "broker",
            format!("no answer from {addr} within {} ms", timeout.as_millis()),
            "check the network and firewall between this node and the master (TCP port in [bus] port)",
        ),
    }
}
