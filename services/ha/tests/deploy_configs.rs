//! The per-role config examples in deploy/config parse and validate the way the services will read
//! them, reach the broker by its mDNS name, and log in with a user the master's broker knows.

use std::path::PathBuf;

use hearth_broker::BrokerConfig;
use hearth_ha::HaConfig;
use hearth_node::NodeFile;

fn deploy_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy"))
}

fn load(role: &str) -> NodeFile {
    let path = deploy_dir().join(format!("config/{role}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    NodeFile::parse(&text, Some(path)).unwrap_or_else(|e| panic!("{role}: {e}"))
}

#[test]
fn role_configs_parse_and_use_the_mdns_name() {
    let master = load("master");
    let broker: BrokerConfig = master.section("broker").unwrap();
    broker.validate().unwrap();
    assert!(broker.max_payload_bytes >= master.node.bus.max_packet_bytes);
    let ha: HaConfig = master.section("ha").unwrap();
    ha.validate().unwrap();

    for role in ["master", "node1", "node2", "node3"] {
        let file = load(role);
        let bus = &file.node.bus;
        assert_eq!(bus.host, "master.local", "{role} must reach the broker by its mDNS name");
        assert!(bus.host.parse::<std::net::IpAddr>().is_err());
        assert_eq!(bus.port, broker.mqtt.port(), "{role}");
        let user = bus.username.as_deref().unwrap_or_else(|| panic!("{role}: no [bus] username"));
        assert_eq!(broker.users.get(user), bus.password.as_ref(), "{role}: login {user} unknown to the master's broker");
        assert!(bus.max_packet_bytes <= broker.max_payload_bytes, "{role}");
    }
    // Home Assistant has its own broker login.
    assert!(broker.users.contains_key("homeassistant"));
}

#[test]
fn install_script_roles_match_the_units() {
    let script = std::fs::read_to_string(deploy_dir().join("install.sh")).unwrap();
    for (role, services) in [("master", "broker ha"), ("node1", "audio wake listen asr"), ("node2", "brain timers tools llm"), ("node3", "tts")] {
        assert!(script.contains(&format!("{role}) echo \"{services}\"")), "install.sh role {role}");
        for s in services.split(' ') {
            assert!(deploy_dir().join(format!("systemd/hearth-{s}.service")).is_file(), "unit for {s}");
        }
        assert!(deploy_dir().join(format!("config/{role}.toml")).is_file());
    }
}
