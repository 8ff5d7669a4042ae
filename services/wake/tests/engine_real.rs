//! The real openWakeWord models from ../shared/models on real recordings, espeak-ng speech, noise,
//! near misses and chimes.

use hearth_wake::testkit::{
    self, arpeggio, assert_quiet_on, brown_noise, detector_for, espeak, max_scores, mix_at_snr, read_wav, silence,
    vacuum_hum, white_noise,
};
use hearth_wake::WakeDetector;

/// Detection threshold used by the service by default.
const FIRE: f32 = 0.5;

fn real() -> Option<WakeDetector> {
    let dir = testkit::real_oww_dir()?;
    let lib = testkit::onnxruntime()?;
    Some(detector_for(&dir, &lib))
}

fn score_of(scores: &[(String, f32)], word: &str) -> f32 {
    scores.iter().find(|(w, _)| w == word).map(|(_, s)| *s).unwrap_or_else(|| panic!("{word} not loaded"))
}

fn assert_none_fire(detector: &mut WakeDetector, what: &str, samples: &[i16]) {
    for (word, score) in max_scores(detector, samples) {
        assert!(score < FIRE, "{word} scored {score:.3} on {what}");
    }
}

#[test]
fn recordings_are_detected_by_their_models() {
    let (Some(mut d), Some(shared)) = (real(), testkit::shared_dir()) else { return };
    assert_eq!(d.words(), ["alexa", "hey_jarvis", "hey_mycroft"]);
    for (file, word) in [("oww_alexa_test.wav", "alexa"), ("oww_hey_mycroft_test.wav", "hey_mycroft")] {
        let audio = read_wav(&shared.join("audio").join(file));
        let scores = max_scores(&mut d, &audio);
        assert!(score_of(&scores, word) >= FIRE, "{file}: {scores:?}");
        // Only the right word fires.
        for (other, s) in &scores {
            if other != word {
                assert!(*s < FIRE, "{file}: {other} scored {s}");
            }
        }
    }
}

#[test]
fn synthetic_speech_is_detected() {
    let Some(mut d) = real() else { return };
    for (text, word) in [("hey jarvis", "hey_jarvis"), ("alexa", "alexa")] {
        let Some(speech) = espeak(text, "en-us", 150) else { return };
        let scores = max_scores(&mut d, &speech);
        assert!(score_of(&scores, word) >= FIRE, "{text:?}: {scores:?}");
    }
}

#[test]
fn detection_survives_a_vacuum_at_10_db_snr() {
    let (Some(mut d), Some(shared)) = (real(), testkit::shared_dir()) else { return };
    let hum = vacuum_hum(4.0, -30.0, 11);
    let Some(jarvis) = espeak("hey jarvis", "en-us", 150) else { return };
    let alexa = read_wav(&shared.join("audio/oww_alexa_test.wav"));
    for (what, speech, word) in [("espeak hey jarvis", jarvis, "hey_jarvis"), ("alexa recording", alexa, "alexa")] {
        let mixed = mix_at_snr(&speech, &hum, 10.0);
        let scores = max_scores(&mut d, &mixed);
        assert!(score_of(&scores, word) >= FIRE, "{what} + hum at 10 dB: {scores:?}");
    }
}

#[test]
fn detection_fires_through_process_once() {
    let (Some(mut d), Some(shared)) = (real(), testkit::shared_dir()) else { return };
    let audio = read_wav(&shared.join("audio/oww_hey_mycroft_test.wav"));
    let stream: Vec<i16> = [silence(1.5), audio, silence(1.5)].concat();
    let detections: Vec<_> = stream.chunks(320).flat_map(|f| d.process(f)).collect();
    assert_eq!(detections.len(), 1, "{detections:?}");
    assert_eq!(detections[0].word, "hey_mycroft");
}

#[test]
fn noise_silence_and_near_misses_do_not_fire() {
    let (Some(mut d), Some(shared)) = (real(), testkit::shared_dir()) else { return };
    assert_none_fire(&mut d, "silence", &silence(5.0));
    assert_none_fire(&mut d, "white noise", &white_noise(5.0, -25.0, 1));
    assert_none_fire(&mut d, "brown noise", &brown_noise(5.0, -20.0, 2));
    assert_none_fire(&mut d, "vacuum hum", &vacuum_hum(8.0, -15.0, 3));
    assert_none_fire(&mut d, "oww_hey_jane.wav", &read_wav(&shared.join("audio/oww_hey_jane.wav")));
    assert_none_fire(&mut d, "jfk.wav", &read_wav(&shared.join("audio/jfk.wav")));
    for text in ["hey jane", "jarvis", "hey travis", "hey mike"] {
        let Some(speech) = espeak(text, "en-us", 150) else { return };
        assert_none_fire(&mut d, &format!("espeak {text:?}"), &speech);
    }
}

#[test]
fn chime_like_tones_stay_quiet() {
    // Short sine arpeggios in the range chimes use, up and down, fast and slow, loud.
    let up = [660.0, 880.0, 1100.0, 1320.0];
    let down = [1320.0, 990.0, 660.0];
    for (notes, note_ms) in [(&up[..], 90), (&up[..], 160), (&down[..], 120), (&[880.0, 1320.0][..], 200)] {
        assert_quiet_on(&arpeggio(notes, note_ms, -6.0));
    }
}
