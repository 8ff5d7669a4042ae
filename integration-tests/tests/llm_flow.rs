//! The brain's side of the LLM protocol over the broker, against a scripted stand-in for the LLM service
//! (a test double; the real `hearth-llm` has its own tests): streamed sentences, tool calls answered by a
//! real tool service, memory for follow-ups, and the follow-up listening window. The timeouts and races
//! of the same protocol are the brain's own tests, with explicit instants.

use std::time::Duration;

use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::audio::Played;
use hearth_bus::brain::{Reply, ReplySource};
use hearth_bus::listen::{ListenReason, StartListening};
use hearth_bus::llm::{LlmEvent, LlmEventKind, LlmRequest, Role};
use hearth_bus::service::ServiceState;
use hearth_bus::tts::Say;
use hearth_bus::{Bus, BusConfig};
use hearth_integration_tests::*;
use serde_json::json;
use tokio::sync::mpsc;

/// Answers each request by the last user message: "story" → three sentences; "clock" → a get_time
/// call; anything else → done without a word. Forwards every request it gets to the test.
async fn scripted_llm(bus: &BusConfig, seen: mpsc::UnboundedSender<LlmRequest>) {
    let (b, connection) = Bus::connect(bus, "llm", "default").unwrap();
    let Bus { client, mut inbox } = b;
    client.wait_connected(WAIT).await.unwrap();
    client.subscribe_all_sites::<LlmRequest>().await.unwrap();
    client.set_status(ServiceState::Online, None).await.unwrap();
    tokio::spawn(async move {
        let _connection = connection;
        while let Some(e) = inbox.recv().await {
            let (Some(site), Some(req)) = (e.site().map(str::to_owned), e.decode::<LlmRequest>()) else { continue };
            let last = req.messages.last().map(|m| m.content.clone()).unwrap_or_default();
            let _ = seen.send(req.clone());
            let event = |kind| LlmEvent { request_id: req.request_id.clone(), session_id: req.session_id.clone(), event: kind };
            let mut events = Vec::new();
            if last.contains("story") {
                for s in ["Once upon a time.", "There was a hearth.", "The end."] {
                    events.push(event(LlmEventKind::Sentence { text: s.into() }));
                }
            } else if last.contains("clock") {
                events.push(event(LlmEventKind::ToolCall { tool: "get_time".into(), arguments: json!({}) }));
            }
            events.push(event(LlmEventKind::Done { prompt_tokens: 10, generated_tokens: 5, elapsed_ms: 1 }));
            for ev in events {
                client.publish(&site, &ev).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
}

async fn start(broker: &TestBroker, config: hearth_brain::BrainConfig) -> (Vec<RunningService>, mpsc::UnboundedReceiver<LlmRequest>) {
    let (tx, rx) = mpsc::unbounded_channel();
    scripted_llm(&broker.bus, tx).await;
    let services = vec![
        start_service(&broker.bus, "brain", "default", move |b, s| hearth_brain::run(config, b, s)).await,
        start_service(&broker.bus, "tools", "default", |b, s| hearth_tools::run(hearth_tools::ToolsConfig::default(), b, s)).await,
    ];
    (services, rx)
}

async fn ask_spoken(probe: &Probe, session: &str, text: &str) {
    let t = Transcript { session_id: session.into(), text: text.into(), source: TranscriptSource::Asr, audio_ms: 1000, processing_ms: 10 };
    probe.client.publish("default", &t).await.unwrap();
}

#[tokio::test]
async fn sentences_stream_in_order_then_close_and_follow_up_opens() {
    let broker = start_broker();
    let (_services, mut seen) = start(&broker, hearth_brain::BrainConfig::default()).await;
    let mut probe = Probe::new(&broker.bus, &["hearth/+/tts/say", "hearth/+/brain/reply", "hearth/+/listen/start"]).await;

    ask_spoken(&probe, "s1", "tell me a story").await;
    let mut texts = Vec::new();
    let utterance = loop {
        let say = probe.next::<Say>(|s| s.session_id.as_deref() == Some("s1")).await;
        assert_eq!(say.seq as usize, texts.len(), "sentences arrive in order");
        texts.push(say.text.clone());
        if say.last {
            break say.utterance_id;
        }
    };
    assert_eq!(texts, ["Once upon a time.", "There was a hearth.", "The end.", ""]);
    let reply = probe.next::<Reply>(|r| r.session_id == "s1").await;
    assert_eq!(reply.source, ReplySource::Llm);
    assert_eq!(reply.text, "Once upon a time. There was a hearth. The end.");
    assert_eq!(seen.recv().await.unwrap().messages.len(), 1);

    // When the reply has played, the brain listens for a follow-up in the same session.
    probe.client.publish("default", &Played { utterance_id: utterance, session_id: Some("s1".into()), duration_ms: 3000, interrupted: false }).await.unwrap();
    let start = probe.next::<StartListening>(|_| true).await;
    assert_eq!(start.reason, ListenReason::FollowUp);
    assert_eq!(start.session_id.as_deref(), Some("s1"));
    assert_eq!(start.no_speech_timeout_ms, Some(5000));

    // The follow-up carries the conversation so far.
    ask_spoken(&probe, "s1", "and then what happened with the clock").await;
    let req = seen.recv().await.unwrap();
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
    // That one was a tool call: the tool's sentence is the reply, spoken without another LLM pass.
    let say = probe.next::<Say>(|s| s.session_id.as_deref() == Some("s1") && s.text.starts_with("It's")).await;
    assert!(say.last);
    let reply = probe.next::<Reply>(|r| r.session_id == "s1" && r.tool.is_some()).await;
    assert_eq!(reply.source, ReplySource::Tool);
    assert!(seen.try_recv().is_err(), "no second LLM pass");
}
