//! A real broker for one test.

use hearth_broker::BrokerHandle;
use hearth_bus::BusConfig;

/// A broker on free loopback ports and the bus settings to reach it; it stops when dropped.
pub struct TestBroker {
    pub handle: BrokerHandle,
    pub bus: BusConfig,
}

/// Starts a broker on free loopback ports.
pub fn start_broker() -> TestBroker {
    // Each port is picked free on its own, so tests running in parallel can pick the same one twice: a
    // few more tries then.
    let handle = (0..4)
        .find_map(|_| hearth_broker::start_on_free_ports().ok())
        .unwrap_or_else(|| hearth_broker::start_on_free_ports().expect("broker starts"));
    let bus = BusConfig { host: "127.0.0.1".into(), port: handle.mqtt.port(), ..BusConfig::default() };
    TestBroker { handle, bus }
}
