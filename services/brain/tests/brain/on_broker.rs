//! The brain as a service on a real broker: what the state machine decides reaches the bus.

use hearth_brain::BrainConfig;
use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::brain::{AssistantState, Reply, StateChanged};
use hearth_bus::service::{info_topic, status_topic, ServiceInfo, ServiceState, ServiceStatus};
use hearth_bus::tool::{ToolCall, ToolResult};
use hearth_bus::topic;
use hearth_bus::tts::Say;
use hearth_testkit::{start_broker, start_service, Probe};

/// A brain that died mid-reply left "speaking" retained; the next brain resets it to idle at start, for
/// every site (Home Assistant would show "speaking" and the wake word would stay muted until a turn).
#[tokio::test]
async fn a_restarted_brain_resets_the_state_its_predecessor_left() {
    let broker = start_broker();
    let probe = Probe::new(&broker.bus, &[]).await;
    for (site, state) in [("kitchen", AssistantState::Speaking), ("office", AssistantState::Thinking)] {
        let stale = StateChanged { state, session_id: Some("died".into()), timestamp_ms: 1 };
        probe.client.publish(site, &stale).await.unwrap();
    }
    let brain = start_service(&broker.bus, "brain", "default", |b, s| hearth_brain::run(BrainConfig::default(), b, s)).await;
    // What a client subscribing now sees (Home Assistant after a restart): the retained idle.
    for site in ["kitchen", "office"] {
        let filter = topic::topic_of::<StateChanged>(site);
        let mut fresh = Probe::new(&broker.bus, &[filter.as_str()]).await;
        let state = fresh.next::<StateChanged>(|s| s.state == AssistantState::Idle).await;
        assert_eq!(state.session_id, None);
    }
    brain.stop().await;
}

/// One typed turn over the broker: transcript in, the call on its tool's topic, the result back, the
/// sentence, the reply and the states out.
#[tokio::test]
async fn a_typed_turn_over_the_broker() {
    let broker = start_broker();
    // A tools service announced `get_time` (retained) before the brain started.
    let tools = Probe::new(&broker.bus, &[]).await;
    let info = ServiceInfo { service: "tools".into(), version: "0".into(), capabilities: vec!["tool:get_time".into()], host: None };
    tools.client.publish_on(info_topic("hub", "tools"), &info).await.unwrap();
    let status = ServiceStatus { state: ServiceState::Online, detail: None, timestamp_ms: 1 };
    tools.client.publish_on(status_topic("hub", "tools"), &status).await.unwrap();
    let _brain = start_service(&broker.bus, "brain", "default", |b, s| hearth_brain::run(BrainConfig::default(), b, s)).await;
    let filters = ["hearth/+/tts/say", "hearth/+/brain/#", "hearth/kitchen/tool/call/get_time"];
    let mut probe = Probe::new(&broker.bus, &filters).await;
    let t = Transcript { session_id: "s".into(), text: "what time is it".into(), source: TranscriptSource::Typed, audio_ms: 0, processing_ms: 0 };
    probe.client.publish("kitchen", &t).await.unwrap();
    let call = probe.next::<ToolCall>(|c| c.session_id.as_deref() == Some("s")).await;
    assert_eq!(call.tool, "get_time");
    let result = ToolResult {
        call_id: call.call_id,
        session_id: call.session_id,
        tool: call.tool,
        ok: true,
        sentence: "It's noon.".into(),
        data: None,
    };
    probe.client.publish("kitchen", &result).await.unwrap();
    let say = probe.next::<Say>(|s| s.session_id.as_deref() == Some("s")).await;
    assert_eq!((say.text.as_str(), say.last), ("It's noon.", true));
    let reply = probe.next::<Reply>(|r| r.session_id == "s").await;
    assert_eq!((reply.request.as_str(), reply.tool.as_deref()), ("what time is it", Some("get_time")));
    probe.next::<StateChanged>(|s| s.state == AssistantState::Speaking).await;
}
