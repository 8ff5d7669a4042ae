//! Messages handed off to a real Home Assistant through the shipped blueprint: the brain reads the message
//! back, the user's yes publishes `message/send`, the bridge makes it the room's "Message request" event,
//! the blueprint's automation calls `notify.<channel>` (here the `file` notify platform, which writes the
//! message into a file instead of sending it anywhere) and publishes the result, and the brain says "Sent.".
//! A channel the blueprint is not allowed to use and a call with no call action come back as spoken reasons.

use std::path::Path;
use std::time::{Duration, Instant};

use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::tts::Say;
use hearth_bus::{Bus, BusConfig, Inbox};

use crate::ha::{self, HomeAssistant};
use crate::house::{node_file, start};

/// Longest wait for a turn's sentence: the automation runs in Home Assistant on a loaded machine.
const TURN: Duration = Duration::from_secs(90);

const BLUEPRINT: &str = include_str!("../../../../deploy/home-assistant/blueprints/hearth_message_handoff.yaml");

/// The notify service the blueprint may use, its file, and the automation made from the blueprint.
const HA_CONFIG: &str = "notify:\n  - name: hearth_test\n    platform: file\n    filename: notified.txt\nautomation: !include automations.yaml\n";
const AUTOMATION: &str = "- id: hearth_messages\n  alias: Hearth messages\n  use_blueprint:\n    path: hearth/hearth_message_handoff.yaml\n    input:\n      requests:\n        - event.hearth_default_message_request\n      allowed_channels: hearth_test\n";

fn write_ha_config(dir: &Path) {
    let config = dir.join("config");
    let blueprints = config.join("blueprints/automation/hearth");
    std::fs::create_dir_all(&blueprints).unwrap();
    std::fs::write(blueprints.join("hearth_message_handoff.yaml"), BLUEPRINT).unwrap();
    std::fs::write(config.join("automations.yaml"), AUTOMATION).unwrap();
}

/// Types `text` at the default site as turn `session` and returns the sentence the brain answers with.
async fn ask(bus: &hearth_bus::BusClient, inbox: &mut Inbox, ha: &HomeAssistant, session: &str, text: &str) -> String {
    let t = Transcript { session_id: session.into(), text: text.into(), source: TranscriptSource::Typed, audio_ms: 0, processing_ms: 0 };
    bus.publish("default", &t).await.unwrap();
    let said = inbox.next_matching(TURN, |e| e.decode::<Say>().is_some_and(|s| s.session_id.as_deref() == Some(session))).await;
    let said = said.unwrap_or_else(|| panic!("no answer to {text:?} within {TURN:?}\nHome Assistant's log:\n{}", ha.log_tail()));
    said.decode::<Say>().unwrap().text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_become_notify_calls_through_the_blueprint() {
    let Some(python) = ha::python() else { return };
    let _one = crate::ONE_HOME_ASSISTANT.lock().await;
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let broker = hearth_broker::start_on_free_ports().expect("broker starts");
    let bus = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let node = node_file(
        &bus,
        dir.path(),
        "default",
        "[brain]\nuse_llm = false\n[brain.messages]\nresult_timeout_ms = 60000\n\
         [[brain.messages.contacts]]\nname = \"Alex\"\nchannel = \"hearth_test\"\naddress = \"+15551234567\"\n\
         [[brain.messages.contacts]]\nname = \"Sam\"\nchannel = \"signal\"\naddress = \"+15557654321\"\n\
         [ha]\ndiscovery = \"entity\"\ndiscovery_delay_ms = 300\nbirth_jitter_ms = 0\nsites = [\"default\"]\n",
    );
    let services = [start(&bus, &node, "brain").await, start(&bus, &node, "ha").await];
    write_ha_config(dir.path());
    let ha = HomeAssistant::start_with(&python, dir.path(), bus.port, HA_CONFIG).await.unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("Home Assistant {} up after {:?}", ha.version, started.elapsed());
    ha.wait_for("event.hearth_default_message_request", "the message request entity", TURN, |s| s.is_some_and(|s| s["state"] != "unavailable")).await;
    ha.wait_state("automation.hearth_messages", "on", TURN).await;

    let (Bus { client, mut inbox }, _connection) = Bus::connect_tool(&bus, "test-user", "default").unwrap();
    client.wait_connected(TURN).await.unwrap();
    client.subscribe("hearth/default/tts/say").await.unwrap();

    assert_eq!(ask(&client, &mut inbox, &ha, "s1", "text Alex that the blueprint works").await, "Message to Alex: the blueprint works. Send it?");
    assert_eq!(ask(&client, &mut inbox, &ha, "s2", "yes").await, "Sent.");
    let notified = std::fs::read_to_string(dir.path().join("config/notified.txt")).expect("the notify service wrote its file");
    assert!(notified.contains("the blueprint works"), "{notified}");

    // A channel Home Assistant is not set up for, and a call with no call action: reasons, nothing sent.
    ask(&client, &mut inbox, &ha, "s3", "text Sam that this goes nowhere").await;
    assert_eq!(ask(&client, &mut inbox, &ha, "s4", "yes").await, "I couldn't send it: signal is not set up in Home Assistant.");
    assert_eq!(ask(&client, &mut inbox, &ha, "s5", "call Alex").await, "Call Alex?");
    assert_eq!(ask(&client, &mut inbox, &ha, "s6", "yes").await, "I couldn't call Alex: calls are not set up in Home Assistant.");
    let notified = std::fs::read_to_string(dir.path().join("config/notified.txt")).unwrap();
    assert!(!notified.contains("nowhere"), "{notified}");
    eprintln!("messages through the blueprint checked after {:?}", started.elapsed());
    // Each service's runtime must end outside this one.
    for service in services {
        service.stop().await;
    }
}
