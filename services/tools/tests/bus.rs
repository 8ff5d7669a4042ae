//! The service on a real broker: calls answered over MQTT, concurrently.

use std::time::Duration;

use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::tool::names::{GET_TIME, GET_WEATHER, WIKIPEDIA};
use hearth_bus::tool::ToolResult;
use hearth_bus::{Bus, BusConfig, Inbox, Shutdown};
use hearth_tools::weather::WeatherConfig;
use hearth_tools::wikipedia::WikipediaConfig;
use hearth_tools::ToolsConfig;
use serde_json::json;

use hearth_tools::testkit::{call, json, Reply, TestServer};

const WAIT: Duration = Duration::from_secs(10);

async fn next_result(inbox: &mut Inbox) -> ToolResult {
    let e = inbox.next_matching(WAIT, |e| e.decode::<ToolResult>().is_some()).await.expect("timed out waiting for a tool result");
    assert_eq!(e.site(), Some("kitchen"));
    e.decode::<ToolResult>().expect("decoded above")
}

#[tokio::test]
async fn a_slow_weather_lookup_does_not_delay_the_clock() {
    let slow_weather = TestServer::start(|_| Reply::Hang).await;
    let wiki = TestServer::start(|r| match r.path.as_str() {
        "/api/rest_v1/page/summary/Paris" => json(json!({
            "type": "standard", "title": "Paris",
            "extract": "Paris (French pronunciation: [paʁi] ⓘ) is the capital and largest city of France. It has 2 million people."
        })),
        _ => Reply::Json(404, "{}".into()),
    })
    .await;
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let config = ToolsConfig {
        timeout_ms: 1500,
        weather: WeatherConfig { geocoding_url: format!("{}/v1/search", slow_weather.base), ..WeatherConfig::default() },
        wikipedia: WikipediaConfig { base_url: wiki.base.clone(), max_sentences: 1, ..WikipediaConfig::default() },
        ..ToolsConfig::default()
    };

    let (service_bus, service_conn) = Bus::connect(&bus_config, "tools", "default").unwrap();
    let shutdown = Shutdown::new();
    let service = tokio::spawn(hearth_tools::run(config, service_bus, shutdown.clone()));

    let (brain, brain_conn) = Bus::connect(&bus_config, "test-brain", "kitchen").unwrap();
    let Bus { client, mut inbox } = brain;
    client.wait_connected(WAIT).await.unwrap();
    client.subscribe_all_sites::<ToolResult>().await.unwrap();
    client.subscribe(status_topic("default", "tools")).await.unwrap();
    tokio::time::timeout(WAIT, async {
        loop {
            let e = inbox.recv().await.unwrap();
            if e.decode::<ServiceStatus>().is_some_and(|s| s.state == ServiceState::Online) {
                break;
            }
        }
    })
    .await
    .expect("tools never came online");

    let weather = call(GET_WEATHER, json!({"location": "Paris"}));
    client.publish_on(weather.topic("kitchen"), &weather).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let time = call(GET_TIME, json!({}));
    client.publish_on(time.topic("kitchen"), &time).await.unwrap();
    let lookup = call(WIKIPEDIA, json!({"topic": "Paris"}));
    client.publish_on(lookup.topic("kitchen"), &lookup).await.unwrap();

    // The clock and Wikipedia answer while the weather service still hangs; the weather answers last,
    // with its fallback, once the deadline passes.
    let mut order = Vec::new();
    for _ in 0..3 {
        let result = next_result(&mut inbox).await;
        assert_eq!(result.session_id.as_deref(), Some("s1"));
        order.push(result.tool.clone());
        match result.tool.as_str() {
            GET_TIME => assert!(result.ok && result.sentence.starts_with("It's "), "{result:?}"),
            WIKIPEDIA => assert_eq!(result.sentence, "Paris is the capital and largest city of France."),
            GET_WEATHER => {
                assert!(!result.ok);
                assert_eq!(result.call_id, "c-get_weather");
                assert_eq!(result.sentence, "I couldn't reach the weather service right now.");
            }
            other => panic!("unexpected tool {other}"),
        }
    }
    assert_eq!(order.last().map(String::as_str), Some(GET_WEATHER), "order: {order:?}");

    // A payload that is not a tool call is dropped; the service keeps answering.
    client.publish_raw("hearth/kitchen/tool/call/get_time".into(), false, b"{nope".to_vec()).await.unwrap();
    client.publish_on(time.topic("kitchen"), &time).await.unwrap();
    assert_eq!(next_result(&mut inbox).await.tool, GET_TIME);

    shutdown.trigger();
    tokio::time::timeout(WAIT, service).await.expect("service did not stop").unwrap().unwrap();
    service_conn.close().await;
    brain_conn.close().await;
}

/// "Louder": the tools service knows the level the audio service announced (retained), asks for ten
/// points more on `audio/volume/set`, then answers.
#[tokio::test]
async fn set_volume_steps_from_the_announced_level() {
    use hearth_bus::audio::{SetVolume, Volume};
    use hearth_bus::tool::names::SET_VOLUME;

    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (audio, audio_conn) = Bus::connect(&bus_config, "test-audio", "kitchen").unwrap();
    let Bus { client: audio, inbox: mut audio_inbox } = audio;
    audio.wait_connected(WAIT).await.unwrap();
    audio.subscribe_all_sites::<SetVolume>().await.unwrap();
    audio.publish("kitchen", &Volume { volume: 50 }).await.unwrap();

    let (service_bus, service_conn) = Bus::connect(&bus_config, "tools", "default").unwrap();
    let shutdown = Shutdown::new();
    let service = tokio::spawn(hearth_tools::run(ToolsConfig::default(), service_bus, shutdown.clone()));
    let (brain, brain_conn) = Bus::connect(&bus_config, "test-brain", "kitchen").unwrap();
    let Bus { client, mut inbox } = brain;
    client.wait_connected(WAIT).await.unwrap();
    client.subscribe_all_sites::<ToolResult>().await.unwrap();
    client.subscribe(status_topic("default", "tools")).await.unwrap();
    inbox
        .next_matching(WAIT, |e| e.decode::<ServiceStatus>().is_some_and(|s| s.state == ServiceState::Online))
        .await
        .expect("tools never came online");

    let louder = call(SET_VOLUME, json!({"change": "up"}));
    client.publish_on(louder.topic("kitchen"), &louder).await.unwrap();
    let set = audio_inbox.next_matching(WAIT, |e| e.decode::<SetVolume>().is_some()).await.expect("no volume change");
    assert_eq!((set.site(), set.decode::<SetVolume>().unwrap().volume), (Some("kitchen"), 60));
    let result = next_result(&mut inbox).await;
    assert_eq!((result.ok, result.sentence.as_str()), (true, "Okay, volume up to 60 percent."));

    // A site whose speaker never announced a level cannot step, but can be set.
    let elsewhere = call(SET_VOLUME, json!({"change": "down"}));
    client.publish_on(elsewhere.topic("hall"), &elsewhere).await.unwrap();
    let result = inbox.next_matching(WAIT, |e| e.decode::<ToolResult>().is_some()).await.unwrap().decode::<ToolResult>().unwrap();
    assert!(!result.ok, "{result:?}");

    shutdown.trigger();
    tokio::time::timeout(WAIT, service).await.expect("service did not stop").unwrap().unwrap();
    for conn in [service_conn, brain_conn, audio_conn] {
        conn.close().await;
    }
}
