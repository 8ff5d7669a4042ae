//! The bus client against the embedded broker: delivery, retained status, last will, large payloads,
//! malformed payloads, and readiness errors.

use std::time::Duration;

use hearth_bus::audio::AudioFrame;
use hearth_bus::listen::Utterance;
use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, BusConfig, Envelope, Inbox, Message};

const WAIT: Duration = Duration::from_secs(10);

fn bus_config(handle: &hearth_broker::BrokerHandle) -> BusConfig {
    BusConfig { host: "127.0.0.1".into(), port: handle.mqtt.port(), ..BusConfig::default() }
}

async fn next_matching(inbox: &mut Inbox, pred: impl Fn(&Envelope) -> bool) -> Envelope {
    inbox.next_matching(WAIT, pred).await.expect("timed out waiting for a message")
}

#[tokio::test]
async fn events_audio_status_and_last_will() {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let config = bus_config(&broker);

    let (listener, listener_conn) = Bus::connect(&config, "test-listener", "default").unwrap();
    let Bus { client: lc, inbox: mut li } = listener;
    lc.wait_connected(WAIT).await.unwrap();
    lc.subscribe_all_sites::<WakeDetected>().await.unwrap();
    lc.subscribe_all_sites::<AudioFrame>().await.unwrap();
    lc.subscribe_all_sites::<Utterance>().await.unwrap();
    lc.subscribe("hearth/+/service/+/status").await.unwrap();

    let (talker, talker_conn) = Bus::connect(&config, "test-talker", "kitchen").unwrap();
    talker.client.wait_connected(WAIT).await.unwrap();

    // Retained online status of the talker.
    let e = next_matching(&mut li, |e| e.topic == status_topic("kitchen", "test-talker")).await;
    assert_eq!(e.decode::<ServiceStatus>().unwrap().state, ServiceState::Online);

    // A JSON event, then a malformed one (dropped, counted), then a good one still arrives.
    let wake = WakeDetected { session_id: "s1".into(), word: "hey_jarvis".into(), score: 0.9, timestamp_ms: 1 };
    talker.client.publish("kitchen", &wake).await.unwrap();
    let e = next_matching(&mut li, |e| e.is::<WakeDetected>()).await;
    assert_eq!(e.site(), Some("kitchen"));
    assert_eq!(e.decode::<WakeDetected>().unwrap(), wake);
    talker.client.publish_raw("hearth/kitchen/wake/detected".into(), false, b"{not json".to_vec()).await.unwrap();
    let e = next_matching(&mut li, |e| e.is::<WakeDetected>()).await;
    assert!(e.decode::<WakeDetected>().is_none());
    assert!(hearth_bus::codec::dropped_payloads()["hearth/kitchen/wake/detected"] >= 1);

    // A 30 s utterance (960 KiB of PCM) arrives whole on a QoS 0 subscription, as ASR takes it.
    let utterance = Utterance {
        session_id: "s1".into(),
        sample_rate_hz: 16_000,
        channels: 1,
        pcm: vec![3u8; 30 * 16_000 * 2],
        timestamp_ms: 5,
    };
    talker.client.publish("kitchen", &utterance).await.unwrap();
    let e = next_matching(&mut li, |e| e.is::<Utterance>()).await;
    assert_eq!(e.decode::<Utterance>().unwrap(), utterance);

    // A one-second utterance-sized audio payload passes the raised packet limits.
    let samples = vec![1000i16; 16_000 * 10];
    let frame = AudioFrame::from_samples(1, 2, 16_000, 1, &samples);
    talker.client.publish("kitchen", &frame).await.unwrap();
    let e = next_matching(&mut li, |e| e.is::<AudioFrame>()).await;
    assert_eq!(e.decode::<AudioFrame>().unwrap().samples().len(), samples.len());

    // A clean close publishes offline.
    talker_conn.close().await;
    let e = next_matching(&mut li, |e| e.topic == status_topic("kitchen", "test-talker")).await;
    assert_eq!(e.decode::<ServiceStatus>().unwrap().state, ServiceState::Offline);
    drop(talker);
    listener_conn.close().await;
}

#[tokio::test]
async fn late_subscriber_sees_retained_status() {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let config = bus_config(&broker);
    let (svc, _svc_conn) = Bus::connect(&config, "svc", "default").unwrap();
    svc.client.wait_connected(WAIT).await.unwrap();
    svc.client.set_status(ServiceState::Unavailable, Some("model missing".into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (late, _late_conn) = Bus::connect(&config, "late", "default").unwrap();
    let Bus { client, mut inbox } = late;
    client.subscribe(status_topic("default", "svc")).await.unwrap();
    let e = next_matching(&mut inbox, |e| e.topic == status_topic("default", "svc")).await;
    let status = ServiceStatus::from_payload(&e.payload).unwrap();
    assert_eq!(status.state, ServiceState::Unavailable);
    assert_eq!(status.detail.as_deref(), Some("model missing"));
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = hearth_broker::BrokerConfig {
        mqtt: holder.local_addr().unwrap(),
        mqtt5: None,
        websocket: None,
        ..Default::default()
    };
    let err = hearth_broker::start(&config).unwrap_err().to_string();
    assert!(err.contains("broker.mqtt") && err.contains("cannot listen"), "{err}");
}

#[tokio::test]
async fn network_listeners_require_credentials() {
    let port = hearth_broker::free_loopback_port().unwrap().port();
    let mut config = hearth_broker::BrokerConfig {
        mqtt: format!("0.0.0.0:{port}").parse().unwrap(),
        mqtt5: None,
        websocket: None,
        ..Default::default()
    };
    config.users.insert("node1".into(), "correct horse".into());
    hearth_broker::start(&config).unwrap();

    let anonymous = BusConfig { host: "127.0.0.1".into(), port, ..BusConfig::default() };
    let (a, _ac) = Bus::connect(&anonymous, "anon", "default").unwrap();
    assert!(a.client.wait_connected(Duration::from_secs(2)).await.is_err(), "anonymous client was let in");

    let wrong = BusConfig { username: Some("node1".into()), password: Some("wrong".into()), ..anonymous.clone() };
    let (w, _wc) = Bus::connect(&wrong, "wrong", "default").unwrap();
    assert!(w.client.wait_connected(Duration::from_secs(2)).await.is_err(), "wrong password was let in");

    let good = BusConfig { username: Some("node1".into()), password: Some("correct horse".into()), ..anonymous };
    let (g, _gc) = Bus::connect(&good, "good", "default").unwrap();
    g.client.wait_connected(WAIT).await.unwrap();
}
