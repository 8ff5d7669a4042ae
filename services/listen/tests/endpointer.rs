//! The endpointer: closes on speech followed by silence, gives up on no speech, and always stops at
//! the hard cap, with real Silero VAD (../shared/models) and with the committed energy stand-in.

use std::path::PathBuf;

use hearth_bus::listen::EndReason;
use hearth_listen::{Endpointer, EndpointerSettings, Ending};
use hearth_wake::testkit::{self, brown_noise, read_wav, silence, tone, vacuum_hum, white_noise};

fn real_vad() -> Option<PathBuf> {
    let path = testkit::shared_dir()?.join("models/silero-vad/silero_vad.onnx");
    if path.is_file() { Some(path) } else { testkit::skip("../shared/models/silero-vad is missing") }
}

fn standin_vad() -> PathBuf {
    testkit::standin_models_dir().join("silero-vad/silero_vad.onnx")
}

fn endpointer(model: &std::path::Path, settings: EndpointerSettings) -> Option<Endpointer> {
    let lib = testkit::onnxruntime()?;
    Some(Endpointer::load(model, &lib, settings).expect("load VAD"))
}

/// Feeds 20 ms frames until the capture ends; `None` if it never does.
fn capture(e: &mut Endpointer, audio: &[i16], no_speech_timeout_ms: Option<u64>) -> Option<Ending> {
    e.start(no_speech_timeout_ms);
    audio.chunks(320).find_map(|f| e.push(f))
}

fn jfk() -> Option<Vec<i16>> {
    Some(read_wav(&testkit::shared_dir()?.join("audio/jfk.wav")))
}

#[test]
fn speech_then_silence_ends_on_silence_with_preroll() {
    let (Some(model), Some(speech)) = (real_vad(), jfk()) else { return };
    // 1 s of quiet, the first 2.3 s of the speech ("And so my fellow Americans"), then silence.
    let audio = [silence(1.0), speech[..(2.3 * 16_000.0) as usize].to_vec(), silence(3.0)].concat();
    let run = |preroll_ms: u64| {
        let settings = EndpointerSettings { preroll_ms, ..EndpointerSettings::default() };
        endpointer(&model, settings).map(|mut e| capture(&mut e, &audio, None).expect("must end"))
    };
    let Some(ending) = run(300) else { return };
    assert_eq!(ending.reason, EndReason::Silence, "{:?}", (ending.reason, ending.speech_ms, ending.duration_ms));
    assert!(ending.speech_ms >= 1000, "speech {} ms", ending.speech_ms);
    // Ends within the trailing silence, soon after the speech stops.
    assert!((3300..=4600).contains(&ending.duration_ms), "ended at {} ms", ending.duration_ms);
    let utterance = ending.utterance.expect("an utterance follows");
    // Without pre-roll the utterance starts where speech was detected, inside the speech ...
    let bare = run(0).unwrap().utterance.unwrap();
    assert!(bare[0] != 0 || bare[1] != 0, "speech starts after the leading silence");
    // ... and the pre-roll adds exactly 300 ms before it.
    assert_eq!(utterance.len() - bare.len(), 300 * 16);
    assert!(utterance.len() >= (2.0 * 16_000.0) as usize);
}

#[test]
fn noise_alone_is_no_speech() {
    let Some(model) = real_vad() else { return };
    let Some(mut e) = endpointer(&model, EndpointerSettings::default()) else { return };
    for (what, noise) in [
        ("white", white_noise(8.0, -25.0, 1)),
        ("brown", brown_noise(8.0, -20.0, 2)),
        ("vacuum", vacuum_hum(8.0, -15.0, 3)),
    ] {
        let ending = capture(&mut e, &noise, Some(3000)).expect("must end");
        assert_eq!(ending.reason, EndReason::NoSpeech, "{what}");
        assert_eq!(ending.duration_ms / 100, 30, "{what}: {} ms", ending.duration_ms);
        assert!(ending.utterance.is_none());
    }
}

#[test]
fn continuous_speech_hits_the_cap() {
    let (Some(model), Some(speech)) = (real_vad(), jfk()) else { return };
    let settings = EndpointerSettings { max_length_ms: 2000, ..EndpointerSettings::default() };
    let Some(mut e) = endpointer(&model, settings) else { return };
    let ending = capture(&mut e, &speech, None).expect("must end");
    assert_eq!(ending.reason, EndReason::MaxLength);
    assert!((2000..2100).contains(&ending.duration_ms), "{} ms", ending.duration_ms);
    assert!(ending.utterance.is_some());
    // Speech under a loud vacuum is still speech, and the cap still holds.
    let noisy = hearth_wake::testkit::mix_at_snr(&[speech.clone(), speech].concat(), &vacuum_hum(22.0, -20.0, 4), 0.0);
    let settings = EndpointerSettings { max_length_ms: 6000, end_silence_ms: 2000, ..EndpointerSettings::default() };
    let Some(mut e) = endpointer(&model, settings) else { return };
    let ending = capture(&mut e, &noisy, None).expect("must end");
    assert!(ending.speech_ms > 1000, "speech {} ms under the hum", ending.speech_ms);
    assert!(ending.duration_ms <= 6100);
}

#[test]
fn the_cap_holds_even_when_the_vad_calls_noise_speech() {
    // The energy stand-in hears steady noise as endless speech: only the cap can end it.
    let settings = EndpointerSettings { max_length_ms: 3000, ..EndpointerSettings::default() };
    let Some(mut e) = endpointer(&standin_vad(), settings) else { return };
    let ending = capture(&mut e, &white_noise(10.0, -20.0, 9), None).expect("must end");
    assert_eq!(ending.reason, EndReason::MaxLength);
    assert_eq!(ending.duration_ms / 100, 30, "{} ms", ending.duration_ms);
    assert_eq!(ending.utterance.map(|u| u.len() / 1600), Some(30));
    // Nothing said before the cap, with a no-speech timeout longer than the cap: still closed, as no speech.
    let ending = capture(&mut e, &silence(10.0), Some(20_000)).expect("must end");
    assert_eq!(ending.reason, EndReason::NoSpeech);
    assert_eq!(ending.duration_ms / 100, 30);
}

#[test]
fn short_blips_do_not_start_speech() {
    let settings = EndpointerSettings { min_speech_ms: 200, no_speech_timeout_ms: 2000, ..EndpointerSettings::default() };
    let Some(mut e) = endpointer(&standin_vad(), settings) else { return };
    // Three 60 ms clicks in silence: none lasts the minimum speech length.
    let click = tone(1000.0, 0.06, -10.0);
    let audio = [silence(0.3), click.clone(), silence(0.5), click.clone(), silence(0.5), click, silence(2.0)].concat();
    let ending = capture(&mut e, &audio, None).expect("must end");
    assert_eq!(ending.reason, EndReason::NoSpeech);
    // A sustained sound does start speech, and the silence after it ends the utterance.
    let audio = [silence(0.3), tone(1000.0, 0.8, -10.0), silence(2.0)].concat();
    let ending = capture(&mut e, &audio, None).expect("must end");
    assert_eq!(ending.reason, EndReason::Silence);
    assert!((700..=900).contains(&ending.speech_ms), "{}", ending.speech_ms);
}

#[test]
fn cancel_and_restart() {
    let Some(mut e) = endpointer(&standin_vad(), EndpointerSettings::default()) else { return };
    e.start(None);
    assert!(e.push(&tone(1000.0, 0.5, -10.0)).is_none());
    let ending = e.cancel();
    assert_eq!(ending.reason, EndReason::Cancelled);
    assert!(ending.utterance.is_none() && !e.is_active());
    assert!(e.push(&silence(10.0)).is_none(), "an ended capture takes no audio");
    // A restart begins from scratch.
    let ending = capture(&mut e, &[tone(1000.0, 0.5, -10.0), silence(1.5)].concat(), None).unwrap();
    assert_eq!(ending.reason, EndReason::Silence);
}
