//! Streaming, windowing, threshold, patience and refractory logic on the committed stand-in models
//! (a classifier that fires on a steady 1 kHz tone, another on 2 kHz).

use hearth_wake::testkit::{silence, tone, white_noise};

use crate::util::{concat, run, standin_detector, standin_dir, word};

#[test]
fn reads_window_and_input_name_from_each_model() {
    let dir = standin_dir();
    let Some(d) = standin_detector(vec![word(&dir, "tone_1k.onnx", "one_k"), word(&dir, "tone_2k.onnx", "two_k")]) else { return };
    // tone_1k takes [1, 12, 96] as `tone_features`, tone_2k [1, 16, 96] as `features`.
    assert_eq!(d.windows(), vec![12, 16]);
    assert_eq!(d.words(), vec!["one_k", "two_k"]);
}

#[test]
fn several_words_each_fire_on_their_own_sound() {
    let dir = standin_dir();
    let Some(mut d) = standin_detector(vec![word(&dir, "tone_1k.onnx", "one_k"), word(&dir, "tone_2k.onnx", "two_k")]) else { return };
    let audio = concat(&[&silence(1.0), &tone(1000.0, 0.6, -12.0), &silence(2.5), &tone(2000.0, 0.6, -12.0), &silence(1.0)]);
    let (steps, detections) = run(&mut d, &audio, 320);
    assert_eq!(steps.len(), audio.len() / 1280, "one score per 80 ms step");
    let fired: Vec<&str> = detections.iter().map(|x| x.word.as_str()).collect();
    assert_eq!(fired, ["one_k", "two_k"], "{detections:?}");
    // The 1 kHz word fires during its tone, not before: between 1.0 s and 1.0 s + tone + 200 ms.
    let at_s = detections[0].end_sample as f64 / 16_000.0;
    assert!((1.0..1.8).contains(&at_s), "fired at {at_s} s");
    assert!(detections.iter().all(|x| x.score >= 0.5));
}

#[test]
fn silence_and_noise_never_fire() {
    let dir = standin_dir();
    let Some(mut d) = standin_detector(vec![word(&dir, "tone_1k.onnx", "one_k")]) else { return };
    let audio = concat(&[&silence(2.0), &white_noise(3.0, -20.0, 1), &silence(1.0)]);
    let (steps, detections) = run(&mut d, &audio, 320);
    assert!(detections.is_empty(), "{detections:?}");
    let max = steps.iter().map(|s| s[0]).fold(0.0, f32::max);
    assert!(max < 0.05, "max score {max}");
}

#[test]
fn chunking_does_not_change_scores() {
    let dir = standin_dir();
    let words = vec![word(&dir, "tone_1k.onnx", "one_k")];
    let (Some(mut a), Some(mut b)) = (standin_detector(words.clone()), standin_detector(words)) else { return };
    let audio = concat(&[&white_noise(1.0, -30.0, 7), &tone(1000.0, 0.5, -10.0), &silence(1.0)]);
    let (sa, _) = run(&mut a, &audio, 320);
    let (sb, _) = run(&mut b, &audio, 333); // odd sizes straddle the 1280-sample steps
    assert_eq!(sa, sb);
    // reset() starts a stream afresh: the same audio gives the same scores again.
    a.reset();
    let (sc, _) = run(&mut a, &audio, 1280);
    assert_eq!(sa, sc);
}

#[test]
fn warm_up_steps_score_zero() {
    let dir = standin_dir();
    let Some(mut d) = standin_detector(vec![word(&dir, "tone_1k.onnx", "one_k")]) else { return };
    let (steps, detections) = run(&mut d, &tone(1000.0, 1.0, -10.0), 320);
    // The reference zeroes its first five predictions; the tone scores from the sixth step on.
    assert!(steps[..5].iter().all(|s| s[0] == 0.0), "{steps:?}");
    assert!(steps[5][0] > 0.5);
    assert_eq!(detections.len(), 1);
}

#[test]
fn refractory_period_limits_repeats() {
    let dir = standin_dir();
    let long = concat(&[&silence(1.0), &tone(1000.0, 4.0, -12.0), &silence(1.0)]);
    let count = |refractory_ms: u32| {
        let mut w = word(&dir, "tone_1k.onnx", "one_k");
        w.refractory_ms = refractory_ms;
        standin_detector(vec![w]).map(|mut d| run(&mut d, &long, 320).1.len())
    };
    let Some(once) = count(6000) else { return };
    assert_eq!(once, 1);
    // 4 s of tone with a 1 s quiet period: fires at the start, then once a second.
    let repeated = count(1000).unwrap();
    assert!((3..=5).contains(&repeated), "{repeated} detections");
}

#[test]
fn patience_needs_consecutive_steps() {
    let dir = standin_dir();
    // A 250 ms blip gives only a few steps above the threshold; a patient word ignores it.
    let blip = concat(&[&silence(1.0), &tone(1000.0, 0.25, -12.0), &silence(1.5)]);
    let long = concat(&[&silence(1.0), &tone(1000.0, 1.0, -12.0), &silence(1.5)]);
    let detections = |patience: u32, audio: &[i16]| {
        let mut w = word(&dir, "tone_1k.onnx", "one_k");
        w.patience = patience;
        standin_detector(vec![w]).map(|mut d| run(&mut d, audio, 320).1.len())
    };
    let Some(impatient) = detections(1, &blip) else { return };
    assert_eq!(impatient, 1);
    assert_eq!(detections(6, &blip).unwrap(), 0);
    assert_eq!(detections(6, &long).unwrap(), 1);
}

#[test]
fn threshold_is_per_word() {
    let dir = standin_dir();
    // A quiet tone under broadband noise scores in between; only the lenient word takes it.
    let noisy = concat(&[&silence(1.0), &hearth_wake::testkit::mix_at_snr(&tone(1000.0, 1.0, -20.0), &white_noise(1.0, -20.0, 3), 12.0), &silence(1.0)]);
    let mut strict = word(&dir, "tone_1k.onnx", "strict");
    strict.threshold = 0.999_999;
    let lenient = word(&dir, "tone_1k.onnx", "lenient");
    let Some(mut d) = standin_detector(vec![strict, lenient]) else { return };
    let (steps, detections) = run(&mut d, &noisy, 320);
    let best = steps.iter().map(|s| s[1]).fold(0.0, f32::max);
    assert!(best > 0.5 && best < 0.999_999, "score {best}: adjust the test's noise level");
    let fired: Vec<&str> = detections.iter().map(|x| x.word.as_str()).collect();
    assert_eq!(fired, ["lenient"]);
}

#[test]
fn a_model_with_the_wrong_interface_is_refused() {
    let Some(lib) = hearth_wake::testkit::onnxruntime() else { return };
    let dir = standin_dir();
    // The embedding model is not a classifier: its input is [B, 76, 32, 1].
    let spec = hearth_wake::DetectorSpec::in_dir(&dir, vec![word(&dir, "embedding_model.onnx", "bad")], lib.clone());
    let err = hearth_wake::WakeDetector::new(&spec).err().expect("must refuse").to_string();
    assert!(err.contains("expected [1, W, 96]"), "{err}");
    let spec = hearth_wake::DetectorSpec::in_dir(&dir, vec![word(&dir, "nope.onnx", "missing")], lib);
    let err = hearth_wake::WakeDetector::new(&spec).err().expect("must refuse").to_string();
    assert!(err.contains("nope.onnx"), "{err}");
}
