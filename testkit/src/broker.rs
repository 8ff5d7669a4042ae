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
    let handle = hearth_broker::start_on_free_ports().expect("broker starts");
    let bus = BusConfig { host: "127.0.0.1".into(), port: handle.mqtt.port(), ..BusConfig::default() };
    TestBroker { handle, bus }
}
