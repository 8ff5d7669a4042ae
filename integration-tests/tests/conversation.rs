//! A typed conversation through the brain, the tools and the timers, as `hearth say` drives it.

use std::time::Duration;

use hearth_bus::audio::{Chime, ChimeKind};
use hearth_bus::brain::{AssistantState, Reply, ReplySource, StateChanged};
use hearth_bus::timer::{TimerDone, TimerState};
use hearth_bus::tts::Say;
use hearth_integration_tests::*;

#[tokio::test]
async fn timer_conversation_end_to_end() {
    let broker = start_broker();
    let data = tempfile::tempdir().unwrap();
    let _services = start_text_assistant(&broker.bus, data.path()).await;
    let mut probe = Probe::new(&broker.bus, &["hearth/#"]).await;

    let session = ask(&probe, "default", "Set a timer for two seconds.").await;
    let say = probe.next::<Say>(|s| s.session_id.as_deref() == Some(&session)).await;
    assert_eq!(say.text, "Okay, two seconds, starting now.");
    assert!(say.last);
    let reply = probe.next::<Reply>(|r| r.session_id == session).await;
    assert_eq!(reply.source, ReplySource::Intent);
    assert_eq!(reply.tool.as_deref(), Some("set_timer"));
    let state = probe.next::<TimerState>(|s| !s.timers.is_empty()).await;
    assert_eq!(state.timers[0].duration_ms, 2000);

    // The timer announces itself: chime, done event, spoken sentence, then an empty state.
    let chime = probe.next::<Chime>(|_| true).await;
    assert_eq!(chime.chime, ChimeKind::Timer);
    let done = probe.next::<TimerDone>(|_| true).await;
    assert_eq!(done.sentence, "Your two second timer is done.");
    assert!(done.late_ms < 1500, "late by {} ms", done.late_ms);
    let announcement = probe.next::<Say>(|s| s.session_id.is_none()).await;
    assert_eq!(announcement.text, "Your two second timer is done.");
    probe.next::<TimerState>(|s| s.timers.is_empty()).await;
}

#[tokio::test]
async fn time_date_status_cancel_and_honest_fallback() {
    let broker = start_broker();
    let data = tempfile::tempdir().unwrap();
    let _services = start_text_assistant(&broker.bus, data.path()).await;
    let mut probe = Probe::new(&broker.bus, &["hearth/+/tts/say", "hearth/+/brain/#"]).await;

    // A request and a check of its spoken answer.
    type Case = (&'static str, fn(&str) -> bool);
    let cases: [Case; 6] = [
        ("what time is it", |t| t.starts_with("It's ") && (t.ends_with(" AM.") || t.ends_with(" PM."))),
        ("what's the date today", |t| t.starts_with("Today is ")),
        ("set a pasta timer for ninety seconds", |t| t == "Okay, pasta timer for one and a half minutes, starting now."),
        ("how long is left on the pasta timer", |t| t.starts_with("There's one") && t.ends_with("left on your pasta timer.")),
        ("cancel the pasta timer", |t| t == "Okay, I cancelled your pasta timer."),
        ("who wrote war and peace", |t| t == hearth_brain::phrases::NO_LLM),
    ];
    for (text, check) in cases {
        let session = ask(&probe, "kitchen", text).await;
        let say = probe.next::<Say>(|s| s.session_id.as_deref() == Some(&session)).await;
        assert!(check(&say.text), "{text:?} → {:?}", say.text);
        probe.next::<Reply>(|r| r.session_id == session).await;
    }
    // Typed turns do not open a follow-up window: after speaking there is no listen request, and the
    // state reported for Home Assistant went thinking → speaking.
    let states = probe.collect::<StateChanged>(Duration::from_millis(300)).await;
    assert!(states.iter().all(|s| s.state != AssistantState::Listening), "{states:?}");
}

#[tokio::test]
async fn sites_are_independent() {
    let broker = start_broker();
    let data = tempfile::tempdir().unwrap();
    let _services = start_text_assistant(&broker.bus, data.path()).await;
    let mut probe = Probe::new(&broker.bus, &["hearth/+/tts/say"]).await;
    let s1 = ask(&probe, "kitchen", "set a timer for ten minutes").await;
    probe.next::<Say>(|s| s.session_id.as_deref() == Some(&s1)).await;
    let s2 = ask(&probe, "office", "how long is left").await;
    let say = probe.next::<Say>(|s| s.session_id.as_deref() == Some(&s2)).await;
    assert_eq!(say.text, "You don't have any timers running.");
}
