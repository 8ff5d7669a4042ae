//! The service on a real broker: utterances in, transcripts out.

use std::path::PathBuf;
use std::time::Duration;

use hearth_asr::AsrConfig;
use hearth_bus::asr::{NotHeard, NotHeardReason, Transcript};
use hearth_bus::listen::Utterance;
use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::{Bus, BusClient, BusConfig, Connection, Inbox, Shutdown};
use tokio::task::JoinHandle;

use crate::util::{hello_world_model, next_matching, pcm, WAIT};

struct Running {
    client: BusClient,
    inbox: Inbox,
    shutdown: Shutdown,
    _test_conn: Connection,
    service: JoinHandle<Result<(), hearth_asr::AsrError>>,
}

/// A broker, the ASR service on it with `model`, and a test client subscribed to its output.
async fn start(model: PathBuf) -> Running {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (test, test_conn) = Bus::connect(&bus_config, "test", "kitchen").unwrap();
    let Bus { client, inbox } = test;
    client.wait_connected(WAIT).await.unwrap();
    client.subscribe_all_sites::<Transcript>().await.unwrap();
    client.subscribe_all_sites::<NotHeard>().await.unwrap();
    client.subscribe(status_topic("kitchen", "asr")).await.unwrap();

    let (bus, connection) = Bus::connect(&bus_config, "asr", "kitchen").unwrap();
    let shutdown = Shutdown::new();
    let config = AsrConfig { model: Some(model), threads: Some(2), ..AsrConfig::default() };
    let s = shutdown.clone();
    let service = tokio::spawn(async move {
        let result = hearth_asr::run(config, bus, s).await;
        connection.close().await;
        result
    });
    Running { client, inbox, shutdown, _test_conn: test_conn, service }
}

fn utterance(session_id: &str, seconds: f32, rate_hz: u32, channels: u16) -> Utterance {
    Utterance { session_id: session_id.into(), sample_rate_hz: rate_hz, channels, pcm: pcm(seconds, rate_hz, channels), timestamp_ms: 0 }
}

async fn wait_status(inbox: &mut Inbox, state: ServiceState) -> ServiceStatus {
    let topic = status_topic("kitchen", "asr");
    loop {
        let e = next_matching(inbox, |e| e.topic == topic).await;
        let status = e.decode::<ServiceStatus>().unwrap();
        if status.state == state {
            return status;
        }
    }
}

async fn stop(r: Running) {
    r.shutdown.trigger();
    let result = tokio::time::timeout(Duration::from_secs(30), r.service).await.expect("service did not stop");
    result.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utterances_become_transcripts_in_order_and_bad_payloads_do_not_hurt() {
    let mut r = start(hello_world_model()).await;
    wait_status(&mut r.inbox, ServiceState::Online).await;

    // Not msgpack at all: dropped by the decoder, the service carries on.
    r.client.publish_raw("hearth/kitchen/listen/utterance".into(), false, b"\x00garbage".to_vec()).await.unwrap();
    // Valid msgpack but unusable audio (half a sample): answered, not fatal.
    let mut ragged = utterance("ragged", 1.0, 16_000, 1);
    ragged.pcm.pop();
    r.client.publish("kitchen", &ragged).await.unwrap();
    // 48 kHz stereo, then 16 kHz mono, then 8 kHz: queued and answered in order.
    r.client.publish("kitchen", &utterance("s1", 2.0, 48_000, 2)).await.unwrap();
    r.client.publish("kitchen", &utterance("s2", 3.0, 16_000, 1)).await.unwrap();
    r.client.publish("kitchen", &utterance("s3", 0.5, 8_000, 1)).await.unwrap();

    let e = next_matching(&mut r.inbox, |e| e.is::<NotHeard>()).await;
    let n = e.decode::<NotHeard>().unwrap();
    assert_eq!((n.session_id.as_str(), n.reason), ("ragged", NotHeardReason::Empty));
    assert!(n.detail.unwrap_or_default().contains("unusable audio"));

    for (session, audio_ms) in [("s1", 2000), ("s2", 3000), ("s3", 500)] {
        let e = next_matching(&mut r.inbox, |e| e.is::<Transcript>()).await;
        assert_eq!(e.site(), Some("kitchen"));
        let t = e.decode::<Transcript>().unwrap();
        assert_eq!(t.session_id, session);
        assert_eq!(t.text, "hello world");
        assert!((t.audio_ms as i64 - audio_ms).abs() <= 1, "{session}: {} ms", t.audio_ms);
        assert!(t.processing_ms > 0);
    }
    stop(r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_model_leaves_the_service_up_and_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("whisper/ggml-tiny.en.bin");
    let mut r = start(model.clone()).await;
    let status = wait_status(&mut r.inbox, ServiceState::Unavailable).await;
    let detail = status.detail.unwrap_or_default();
    assert!(detail.contains(&model.display().to_string()) && detail.contains("hearth models pull whisper-tiny.en"), "{detail}");

    for session in ["a", "b"] {
        r.client.publish("kitchen", &utterance(session, 1.0, 16_000, 1)).await.unwrap();
        let e = next_matching(&mut r.inbox, |e| e.is::<NotHeard>()).await;
        let n = e.decode::<NotHeard>().unwrap();
        assert_eq!((n.session_id.as_str(), n.reason), (session, NotHeardReason::Unavailable));
    }
    stop(r).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_model_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("cut.bin");
    let good = std::fs::read(hello_world_model()).unwrap();
    std::fs::write(&model, &good[..good.len() - 100]).unwrap();
    let mut r = start(model.clone()).await;
    let status = wait_status(&mut r.inbox, ServiceState::Unavailable).await;
    let detail = status.detail.unwrap_or_default();
    assert!(detail.contains("cut.bin") && detail.contains("truncated") && detail.contains("hearth models pull"), "{detail}");
    stop(r).await;
}
