//! Whole voice turns from a microphone to a speaker with every service in its own process as `hearth up`
//! starts them: real openWakeWord and Silero, whisper.cpp hearing a generated model's phrase, the brain,
//! llama.cpp on the generated GGUF models, the tools against a local Open-Meteo, Piper or espeak-ng, and
//! a WAV speaker. Then a follow-up without the wake word in the same session.

use hearth_bus::brain::ReplySource;
use hearth_bus::tool::ToolCall;
use hearth_e2e::speech::{brown_noise, noise_under, read_wav, speak};
use hearth_e2e::{Rig, Voice};
use hearth_integration_tests::*;

const WEATHER: &str = "It's 14 degrees and cloudy in Paris, with wind at 12 kilometers per hour.";

/// Samples of the speaker WAV louder than a whisper.
fn loud_samples(rig: &Rig) -> usize {
    read_wav(&rig.speaker).iter().filter(|s| s.unsigned_abs() > 1000).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn weather_through_the_llm_in_a_piper_voice_then_a_follow_up() {
    let dir = tempfile::tempdir().unwrap();
    let phrase = "should i wear a coat in paris";
    let piper = Voice::Piper(hearth_e2e::fixtures_dir().join("tts/tiny-sine.onnx"));
    let Some(mut options) = voice_rig(dir.path(), phrase, Some("tool-call.gguf"), piper) else { return };
    options.follow_up_ms = 20_000;
    let mut rig = Rig::start(options).await.unwrap();
    let request = speak(phrase, "en-us", dir.path());

    let first = rig.wake_turn(wake_and(&request, dir.path())).await.unwrap();
    eprintln!("{first}");
    assert!(first.wake_score.is_some_and(|s| s >= 0.5), "{first:?}");
    assert_eq!(first.transcript, phrase);
    let (_, call) = rig.recorder.next::<ToolCall>(|c| c.session_id.as_deref() == Some(&first.session_id)).await.unwrap();
    assert_eq!((call.tool.as_str(), call.arguments.to_string().as_str()), ("get_weather", r#"{"location":"Paris"}"#));
    assert_eq!(first.reply.source, ReplySource::Tool, "{first:?}");
    assert_eq!(first.sentences, [WEATHER]);
    assert!(first.voice.starts_with("piper"), "{}", first.voice);
    assert!(!first.played.interrupted && first.played.duration_ms > 500, "{:?}", first.played);

    // No wake word: the brain opened a follow-up window in the same session once the reply played.
    let second = rig.follow_up_turn(&first.session_id, request).await.unwrap();
    eprintln!("{second}");
    assert_eq!(second.session_id, first.session_id);
    assert_eq!(second.wake_score, None);
    assert_eq!(second.transcript, phrase);
    assert_eq!(second.sentences, [WEATHER]);
    assert!(loud_samples(&rig) > 4000, "the speaker holds both replies");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_noisy_room_and_an_llm_answer_in_the_espeak_voice() {
    let dir = tempfile::tempdir().unwrap();
    let phrase = "describe paris for me";
    let Some(mut options) = voice_rig(dir.path(), phrase, Some("answer.gguf"), Voice::Espeak) else { return };
    let request = speak(phrase, "en-us", dir.path());
    // Brown noise 10 dB under the speech, all the time: before, during and after every word.
    options.noise = Some(noise_under(&request, &brown_noise(7.0, -6.0, dir.path()), 10.0));
    let mut rig = Rig::start(options).await.unwrap();

    let turn = rig.wake_turn(wake_and(&request, dir.path())).await.unwrap();
    eprintln!("{turn}");
    assert_eq!(turn.transcript, phrase);
    assert_eq!(turn.reply.source, ReplySource::Llm, "{turn:?}");
    // Streamed sentence by sentence, in order, cleaned for speech (the model wrote "**Paris**").
    assert_eq!(turn.sentences, ["Paris is the capital of France.", "It has about 2.1 million people."]);
    assert!(turn.voice.starts_with("espeak-ng"), "{}", turn.voice);
    assert!(turn.played.duration_ms > 1500, "{:?}", turn.played);
    assert!(loud_samples(&rig) > 4000);
}
