//! Timers are durable: they survive a restart of the service, and ones that fell due while it was
//! down are announced when it comes back.

use std::time::Duration;

use hearth_bus::timer::TimerDone;
use hearth_bus::tool::{call_topic, ToolCall, ToolResult};
use hearth_bus::tts::Say;
use hearth_integration_tests::*;
use serde_json::json;

async fn call(probe: &mut Probe, tool: &str, arguments: serde_json::Value) -> ToolResult {
    let call = ToolCall { call_id: hearth_bus::ids::new_id(), session_id: None, tool: tool.into(), arguments };
    probe.client.publish_on(call_topic("default", tool), &call).await.unwrap();
    let id = call.call_id.clone();
    probe.next::<ToolResult>(move |r| r.call_id == id).await
}

#[tokio::test]
async fn timers_survive_a_service_restart() {
    let broker = start_broker();
    let data = tempfile::tempdir().unwrap();
    let store = hearth_timers::TimersConfig::default().store(data.path());
    let mut probe = Probe::new(&broker.bus, &["hearth/+/tool/result", "hearth/+/timer/done", "hearth/+/tts/say"]).await;

    let s = store.clone();
    let timers = start_service(&broker.bus, "timers", "default", move |b, sd| hearth_timers::run(s, b, sd)).await;
    let r = call(&mut probe, "set_timer", json!({"duration_seconds": 600, "name": "roast"})).await;
    assert!(r.ok, "{r:?}");
    let r = call(&mut probe, "set_timer", json!({"duration_seconds": 1, "name": "tea"})).await;
    assert!(r.ok);
    // Stop before the tea timer is due; it falls due while the service is down.
    timers.stop().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let s = store.clone();
    let _timers = start_service(&broker.bus, "timers", "default", move |b, sd| hearth_timers::run(s, b, sd)).await;
    let done = probe.next::<TimerDone>(|d| d.timer.name.as_deref() == Some("tea")).await;
    assert!(done.late_ms >= 400, "tea was due while down: late {} ms", done.late_ms);
    let say = probe.next::<Say>(|s| s.text.contains("tea")).await;
    assert_eq!(say.text, "Your tea timer is done.");
    let r = call(&mut probe, "timer_status", json!({"name": "roast"})).await;
    assert!(r.sentence.starts_with("There's nine minutes and"), "{}", r.sentence);
    assert!(r.sentence.ends_with("left on your roast timer."), "{}", r.sentence);
}

#[tokio::test]
async fn invalid_timer_arguments_get_spoken_answers() {
    let broker = start_broker();
    let data = tempfile::tempdir().unwrap();
    let store = hearth_timers::TimersConfig::default().store(data.path());
    let mut probe = Probe::new(&broker.bus, &["hearth/+/tool/result"]).await;
    let _timers = start_service(&broker.bus, "timers", "default", move |b, sd| hearth_timers::run(store, b, sd)).await;
    let r = call(&mut probe, "set_timer", json!({})).await;
    assert_eq!((r.ok, r.sentence.as_str()), (false, "How long should the timer be?"));
    let r = call(&mut probe, "set_timer", json!({"duration_seconds": 1e9})).await;
    assert_eq!((r.ok, r.sentence.as_str()), (false, "Timers can run from one second to one day."));
    let r = call(&mut probe, "set_timer", json!({"duration_seconds": "ten"})).await;
    assert!(!r.ok);
}
