//! Malformed JSON and msgpack on every topic the services subscribe to: they are logged, counted and
//! dropped, and the services keep working.

use hearth_bus::asr::{NotHeard, Transcript};
use hearth_bus::audio::Played;
use hearth_bus::listen::{ListeningEnded, ListeningStarted};
use hearth_bus::llm::LlmEvent;
use hearth_bus::tool::{call_topic, names, ToolResult};
use hearth_bus::tts::Say;
use hearth_bus::wake::WakeDetected;
use hearth_bus::Message;
use hearth_integration_tests::*;

fn garbage() -> Vec<Vec<u8>> {
    vec![
        b"{not json".to_vec(),
        b"".to_vec(),
        b"[1,2,3]".to_vec(),
        br#"{"session_id": 5}"#.to_vec(),
        vec![0x92, 0x01, 0xc1],                 // truncated msgpack
        vec![0xff; 64],                         // binary noise
        "\u{feff}{\"text\":\"bom\"}".as_bytes().to_vec(),
    ]
}

#[tokio::test]
async fn services_survive_garbage_on_every_topic() {
    let broker = start_broker();
    let data = tempfile::tempdir().unwrap();
    let _services = start_text_assistant(&broker.bus, data.path()).await;
    let mut probe = Probe::new(&broker.bus, &["hearth/+/tts/say"]).await;

    let mut topics: Vec<String> = [
        Transcript::SUFFIX, NotHeard::SUFFIX, ToolResult::SUFFIX, LlmEvent::SUFFIX, WakeDetected::SUFFIX,
        ListeningStarted::SUFFIX, ListeningEnded::SUFFIX, Played::SUFFIX,
    ]
    .iter()
    .map(|s| hearth_bus::topic::topic("default", s))
    .collect();
    for tool in [names::GET_TIME, names::GET_DATE, names::SET_TIMER, names::CANCEL_TIMER, names::TIMER_STATUS] {
        topics.push(call_topic("default", tool));
    }
    topics.push("hearth/default/service/llm/status".into());
    for topic in &topics {
        for payload in garbage() {
            probe.client.publish_raw(topic.clone(), false, payload).await.unwrap();
        }
    }
    // Every service still answers.
    for (text, expect) in [("what time is it", "It's "), ("set a timer for 5 minutes", "Okay, five minutes"), ("how long is left", "There's")] {
        let session = ask(&probe, "default", text).await;
        let say = probe.next::<Say>(|s| s.session_id.as_deref() == Some(&session)).await;
        assert!(say.text.starts_with(expect), "{text} → {}", say.text);
    }
}
