//! The broker restarts under running services: they reconnect, resubscribe, and the next turn works.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::tts::Say;
use hearth_bus::BusConfig;
use hearth_integration_tests::*;

struct BrokerProcess(Child);

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_broker(config: &std::path::Path) -> BrokerProcess {
    let child = Command::new(workspace_binary("hearth"))
        .arg("--config")
        .arg(config)
        .arg("broker")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hearth broker starts");
    BrokerProcess(child)
}

fn wait_port(port: u16) {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(started.elapsed() < WAIT, "broker did not come up on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn services_reconnect_after_a_broker_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..3).map(|_| hearth_broker::free_loopback_port().unwrap().port()).collect();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "[broker]\nmqtt = \"127.0.0.1:{}\"\nmqtt5 = \"127.0.0.1:{}\"\nwebsocket = \"127.0.0.1:{}\"\n",
            ports[0], ports[1], ports[2]
        ),
    )
    .unwrap();
    let bus = BusConfig { host: "127.0.0.1".into(), port: ports[0], ..BusConfig::default() };

    let broker = spawn_broker(&config);
    wait_port(ports[0]);
    let _services = start_text_assistant(&bus, dir.path()).await;
    {
        let mut probe = Probe::new(&bus, &["hearth/+/tts/say"]).await;
        let s = ask(&probe, "default", "what time is it").await;
        probe.next::<Say>(|m| m.session_id.as_deref() == Some(&s)).await;
    }

    drop(broker); // killed: no clean disconnects, retained state lost
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _broker = spawn_broker(&config);
    wait_port(ports[0]);

    // Services announce themselves again after reconnecting (retained status re-published).
    let mut probe = Probe::new(&bus, &["hearth/+/tts/say", "hearth/+/service/+/status"]).await;
    for service in ["brain", "timers", "tools"] {
        probe.next_on::<ServiceStatus>(&status_topic("default", service), |s| s.state == ServiceState::Online).await;
    }
    let s = ask(&probe, "default", "set a timer for one minute").await;
    let say = probe.next::<Say>(|m| m.session_id.as_deref() == Some(&s)).await;
    assert_eq!(say.text, "Okay, one minute, starting now.");
}
