//! A stage that hangs or dies mid-turn is heard as a short reason, `hearth up` brings it back, and the
//! next turn works; a missing model is said plainly. Each stage runs in its own process under `hearth up`,
//! as in the whole-turn tests.

use std::time::Duration;

use hearth_brain::phrases;
use hearth_bus::brain::{Reply, ReplySource};
use hearth_bus::service::ServiceState;
use hearth_bus::wake::WakeDetected;
use hearth_e2e::speech::speak;
use hearth_e2e::{Rig, Voice};
use hearth_integration_tests::*;

const WEATHER: &str = "It's 14 degrees and cloudy in Paris, with wind at 12 kilometers per hour.";

/// Speaks `audio` and returns the brain's reply to the turn it starts, whatever became of the rest.
async fn reply_to(rig: &mut Rig, audio: Vec<i16>) -> Reply {
    rig.wait_idle().await.unwrap();
    rig.mic.say(audio).await.unwrap();
    let (_, wake) = rig.recorder.next::<WakeDetected>(|_| true).await.unwrap();
    rig.recorder.next::<Reply>(|r| r.session_id == wake.session_id).await.unwrap().1
}

/// Kills `service` for good and waits for `hearth up` to bring it back.
async fn kill_and_wait_for_restart(rig: &mut Rig, service: &str) {
    let (old, new) = rig.kill_and_wait_for_restart(service).await.unwrap();
    assert_ne!(old, new, "{service} is a new process");
    // Every service sees the new status at about the same time as the recorder; give them a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_stage_hung_or_killed_mid_turn_then_the_next_turn_works() {
    let dir = tempfile::tempdir().unwrap();
    let phrase = "should i wear a coat in paris";
    let Some(mut options) = voice_rig(dir.path(), phrase, Some("tool-call.gguf"), Voice::Espeak) else { return };
    // Short enough to keep the test quick, long enough that a healthy stage on a loaded CI machine (two
    // assistants run side by side) never trips them.
    options.overrides = toml::toml! {
        [brain]
        transcript_timeout_ms = 8000
        llm_first_event_timeout_ms = 5000
        playback_timeout_ms = 8000
    };
    let mut rig = Rig::start(options).await.unwrap();
    let turn = wake_and(&speak(phrase, "en-us", dir.path()), dir.path());

    // The language model hangs: a short apology instead of silence.
    rig.signal("llm", libc::SIGSTOP).unwrap();
    let reply = reply_to(&mut rig, turn.clone()).await;
    assert_eq!((reply.text.as_str(), reply.source), (phrases::TOO_SLOW, ReplySource::Fallback));
    kill_and_wait_for_restart(&mut rig, "llm").await;
    assert_eq!(rig.wake_turn(turn.clone()).await.unwrap().sentences, [WEATHER]);

    // Speech recognition hangs after the capture: the brain's transcript deadline speaks up.
    rig.signal("asr", libc::SIGSTOP).unwrap();
    let reply = reply_to(&mut rig, turn.clone()).await;
    assert_eq!((reply.text.as_str(), reply.source), (phrases::ASR_DOWN, ReplySource::Fallback));
    kill_and_wait_for_restart(&mut rig, "asr").await;
    assert_eq!(rig.wake_turn(turn.clone()).await.unwrap().sentences, [WEATHER]);

    // The voice hangs: the reply is decided but never heard; the brain stops waiting for playback.
    rig.signal("tts", libc::SIGSTOP).unwrap();
    let reply = reply_to(&mut rig, turn.clone()).await;
    assert_eq!(reply.text, WEATHER);
    kill_and_wait_for_restart(&mut rig, "tts").await;
    assert_eq!(rig.wake_turn(turn.clone()).await.unwrap().sentences, [WEATHER]);

    // The wake word service dies outright between turns.
    kill_and_wait_for_restart(&mut rig, "wake").await;
    let last = rig.wake_turn(turn).await.unwrap();
    assert_eq!(last.sentences, [WEATHER]);
    assert!(!last.played.interrupted);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_language_model_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let phrase = "write me a poem about autumn";
    let Some(mut options) = voice_rig(dir.path(), phrase, None, Voice::Espeak) else { return };
    options.llm = Some(dir.path().join("models/llm/Qwen3-4B-Instruct-2507-Q4_K_M.gguf"));
    let mut rig = Rig::start(options).await.unwrap();
    let missing = |s: &hearth_bus::service::ServiceStatus| {
        s.state == ServiceState::Unavailable && s.detail.as_deref().is_some_and(|d| d.contains("missing"))
    };
    let status = rig.wait_status("llm", missing).await.unwrap();
    let detail = status.detail.unwrap_or_default();
    assert!(detail.contains("hearth models pull qwen3-4b-instruct"), "{detail}");

    let turn = rig.wake_turn(wake_and(&speak(phrase, "en-us", dir.path()), dir.path())).await.unwrap();
    assert_eq!(turn.sentences, [phrases::NO_LLM]);
    assert_eq!(turn.reply.source, ReplySource::Fallback);
}
