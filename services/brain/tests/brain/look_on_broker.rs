//! "What do you see?" over a real broker, with test doubles for the camera (it only announces itself) and
//! the vision service (it answers `look` calls with scripted sentences). The double holds its second
//! sentence back until the first has reached TTS: each sentence is spoken as soon as it exists, not when the
//! whole description is done. A room without a camera, and one whose camera is switched off, get plain answers.

use std::sync::Arc;

use hearth_brain::{phrases, BrainConfig};
use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::brain::Reply;
use hearth_bus::service::ServiceState;
use hearth_bus::tool::{call_filter, ToolCall, ToolResult};
use hearth_bus::tts::Say;
use hearth_bus::vision::{CameraEnabled, VisionSentence, LOOK};
use hearth_bus::{Bus, BusError, Shutdown};
use hearth_testkit::{start_broker, start_service, Probe};
use serde_json::json;
use tokio::sync::Notify;

const SEEN: [&str; 2] = ["I see a kitchen table with two cups.", "The window is open."];

/// A camera at its site: announced, online, and nothing else (the vision double takes no picture).
async fn camera_double(bus: Bus, shutdown: Shutdown) -> Result<(), BusError> {
    let Bus { client, inbox: _inbox } = bus;
    client.set_capabilities(vec!["camera:file:room.jpg".into()]).await?;
    client.set_status(ServiceState::Online, None).await?;
    shutdown.wait().await;
    Ok(())
}

/// A vision service: each `look` call gets the first sentence, then (once `release` is notified) the second
/// and the result, as the real service publishes them.
async fn vision_double(bus: Bus, shutdown: Shutdown, release: Arc<Notify>) -> Result<(), BusError> {
    let Bus { client, mut inbox } = bus;
    client.subscribe(call_filter(LOOK)).await?;
    client.set_capabilities(vec![format!("tool:{LOOK}"), "vision:test-double".into()]).await?;
    client.set_status(ServiceState::Online, None).await?;
    loop {
        let envelope = tokio::select! {
            _ = shutdown.wait() => break,
            e = inbox.recv() => match e { Some(e) => e, None => break },
        };
        let (Some(site), Some(call)) = (envelope.site().map(str::to_owned), envelope.decode::<ToolCall>()) else { continue };
        for (seq, text) in SEEN.iter().enumerate() {
            if seq > 0 {
                release.notified().await;
            }
            let sentence = VisionSentence { call_id: call.call_id.clone(), session_id: call.session_id.clone(), seq: seq as u32, text: text.to_string() };
            client.publish(&site, &sentence).await?;
        }
        let result = ToolResult {
            call_id: call.call_id,
            session_id: call.session_id,
            tool: LOOK.into(),
            ok: true,
            sentence: SEEN.join(" "),
            data: Some(json!({"streamed_sentences": SEEN.len()})),
        };
        client.publish(&site, &result).await?;
    }
    Ok(())
}

fn typed(session: &str, text: &str) -> Transcript {
    Transcript { session_id: session.into(), text: text.into(), source: TranscriptSource::Typed, audio_ms: 0, processing_ms: 0 }
}

#[tokio::test]
async fn what_do_you_see_streams_the_vision_services_sentences_to_tts() {
    let broker = start_broker();
    let release = Arc::new(Notify::new());
    let held = release.clone();
    let _vision = start_service(&broker.bus, "vision", "hub", move |b, s| vision_double(b, s, held)).await;
    let _camera = start_service(&broker.bus, "camera", "kitchen", camera_double).await;
    let config = BrainConfig { use_llm: false, ..BrainConfig::default() };
    let _brain = start_service(&broker.bus, "brain", "default", move |b, s| hearth_brain::run(config, b, s)).await;
    let mut probe = Probe::new(&broker.bus, &["hearth/+/tts/say", "hearth/+/brain/reply"]).await;

    probe.client.publish("kitchen", &typed("s", "what do you see")).await.unwrap();
    let first = probe.next::<Say>(|s| s.session_id.as_deref() == Some("s")).await;
    assert_eq!((first.text.as_str(), first.seq, first.last), (SEEN[0], 0, false), "said while the second sentence is still held back");
    release.notify_one();
    let second = probe.next::<Say>(|s| s.session_id.as_deref() == Some("s")).await;
    assert_eq!((second.text.as_str(), second.seq, second.last), (SEEN[1], 1, false));
    let close = probe.next::<Say>(|s| s.session_id.as_deref() == Some("s")).await;
    assert_eq!((close.text.as_str(), close.last), ("", true));
    assert!(second.utterance_id == first.utterance_id && close.utterance_id == first.utterance_id);
    let reply = probe.next::<Reply>(|r| r.session_id == "s").await;
    assert_eq!((reply.text, reply.tool.as_deref()), (SEEN.join(" "), Some(LOOK)));

    // The kitchen's camera is switched off (what the camera service publishes, retained). The broker does not
    // order the switch against transcripts, so a turn elsewhere goes first: the hall has no camera, a plain
    // sentence, and the vision service is not asked.
    probe.client.publish("kitchen", &CameraEnabled { enabled: false }).await.unwrap();
    probe.client.publish("hall", &typed("h", "what do you see")).await.unwrap();
    let say = probe.next::<Say>(|s| s.session_id.as_deref() == Some("h")).await;
    assert_eq!((say.text.as_str(), say.last), (phrases::NO_CAMERA, true));
    probe.client.publish("kitchen", &typed("o", "what do you see")).await.unwrap();
    let say = probe.next::<Say>(|s| s.session_id.as_deref() == Some("o")).await;
    assert_eq!((say.text.as_str(), say.last), (phrases::CAMERA_OFF, true));
}
