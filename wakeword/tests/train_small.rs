//! A small model trained end to end for "ok computer": it must beat chance by a wide margin on
//! speakers it never trained on, load by name in Hearth's wake engine, and score the same in Python
//! `openwakeword` as in Hearth (every 80 ms step within 0.02).

use std::collections::BTreeMap;
use std::process::Command;

use hearth_wake::{WakeConfig, WakeDetector, WordConfig};
use hearth_wakeword::audio;
use hearth_wakeword::eval::{self, Scorer};
use hearth_wakeword::features::FrontEnd;
use hearth_wakeword::dataset::{speaker_split, Split};
use hearth_wakeword::train::{self, TrainOptions};
use hearth_wakeword::voices::{espeak_speakers, Delivery, Synthesizer};

use crate::util::{front_end, small_options};

const PARITY: f32 = 0.02;

fn python() -> String {
    std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn small_model_beats_chance_on_held_out_voices_and_matches_python() {
    let Some((front, lib)) = front_end() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("openwakeword");
    std::fs::create_dir_all(&out).unwrap();
    // The model lands where the wake service looks, beside the front end.
    for f in ["melspectrogram.onnx", "embedding_model.onnx"] {
        std::fs::copy(front.join(f), out.join(f)).unwrap();
    }
    let opts = small_options("ok computer", &out, &crate::util::cache_dir(tmp.path()), &front, &lib);
    let opts = TrainOptions { progress: true, ..opts };
    let trained = train::train(&opts).unwrap();
    let card = &trained.card;
    let r = &card.report;
    eprintln!("{}\n{}\nepochs {:?}, {} positive windows", r, card.report_at_half, card.epochs, card.train_positive_windows);
    eprintln!("times {:?}, {} training windows, threshold {:.2}", card.seconds, card.train_windows, card.suggested_threshold);
    assert!(trained.model.ends_with("ok_computer.onnx"));

    // Far better than chance on the test voices: positives caught against near-misses that fired.
    let caught = r.positives().rate();
    let near_miss_fired = r.near_miss_total.rate();
    assert!(caught >= 0.7, "caught {caught}");
    assert!(near_miss_fired <= 0.3, "near-misses fired {near_miss_fired}");
    assert!((caught + (1.0 - near_miss_fired)) / 2.0 >= 0.8, "balanced accuracy too low");
    assert!(r.chime_max_score < 0.5, "chimes {}", r.chime_max_score);
    assert!(train::read_card(&trained.model).unwrap().phrase == "ok computer");
    // `eval MODEL` rebuilds the same held-out set from the cache and reaches the same figures.
    let again = train::evaluate_held_out(&opts, &trained.model, None).unwrap();
    assert_eq!(again.suggested_threshold, card.suggested_threshold);
    assert_eq!(again.positives(), r.positives());
    assert_eq!(again.near_miss_total, r.near_miss_total);

    // Hearth's wake engine loads it by name.
    let config = WakeConfig {
        model_dir: Some(out.clone()),
        onnxruntime: Some(lib.clone()),
        words: vec![WordConfig { threshold: card.suggested_threshold, ..WordConfig::new("ok_computer") }],
        ..WakeConfig::default()
    };
    let spec = config.detector_spec().expect("model found by name");
    let mut detector = WakeDetector::new(&spec).unwrap();
    assert_eq!(detector.words(), ["ok_computer"]);
    assert_eq!(detector.windows(), [16]);

    // Clips from a test speaker (never trained on), through both implementations.
    let speaker = espeak_speakers(opts.sizes.espeak_speakers)
        .into_iter()
        .find(|s| speaker_split(s, opts.sizes.validation_percent) == Split::Test)
        .expect("a test speaker");
    let mut synth = Synthesizer::new(&lib, 1).unwrap();
    let mut clips = Vec::new();
    for (name, text) in [("positive", "ok computer"), ("near", "ok"), ("speech", "Could you pass me the salt, please?")] {
        let speech = synth.speak(&speaker, &Delivery::default(), text).unwrap();
        let mut samples = vec![0.0; 16000];
        samples.extend(speech.iter().map(|s| s * 0.5));
        samples.extend(vec![0.0; 16000]);
        let path = tmp.path().join(format!("{name}.wav"));
        audio::write_wav(&path, &samples).unwrap();
        clips.push((name, path, samples));
    }
    let mut hearth: BTreeMap<&str, Vec<f32>> = BTreeMap::new();
    for (name, _, samples) in &clips {
        detector.reset();
        let s16: Vec<i16> = samples.iter().map(|&s| audio::to_s16(s)).collect();
        let mut steps = Vec::new();
        for frame in s16.chunks(320) {
            detector.process_with(frame, |_, s| steps.push(s[0]));
        }
        hearth.insert(name, steps);
    }
    let peak = |v: &[f32]| v.iter().copied().fold(0.0, f32::max);
    eprintln!("hearth peaks: {:?}", hearth.iter().map(|(k, v)| (k, peak(v))).collect::<Vec<_>>());
    assert!(peak(&hearth["positive"]) > peak(&hearth["speech"]), "the phrase must outscore plain speech");

    // The same clips as an evaluation folder, as `hearth wakeword eval MODEL DIR` reads it.
    let eval_dir = tmp.path().join("eval");
    for (name, path, _) in &clips {
        let sub = match *name {
            "positive" => "positive",
            "near" => "nearmiss/ok",
            _ => "speech",
        };
        std::fs::create_dir_all(eval_dir.join(sub)).unwrap();
        std::fs::copy(path, eval_dir.join(sub).join(format!("{name}.wav"))).unwrap();
    }
    std::fs::create_dir_all(eval_dir.join("chime")).unwrap();
    let chime = hearth_audio::chime::render(hearth_audio::chime::ALL[0], 16000);
    audio::write_wav(&eval_dir.join("chime/listening.wav"), &audio::from_s16(&chime)).unwrap();
    let mut scorer = Scorer::load(&trained.model, &lib).unwrap();
    let mut front_end = FrontEnd::load(&front, &lib, 1).unwrap();
    let folder = eval::evaluate_dir(&eval_dir, &mut scorer, &mut front_end, Some(card.suggested_threshold)).unwrap();
    eprintln!("evaluation folder:\n{folder}");
    assert_eq!(folder.positives_clean.total, 1);
    assert_eq!(folder.near_misses["ok"].total, 1);
    assert!(folder.speech_hours > 0.0 && folder.chime_max_score < 0.5);

    let has_oww = Command::new(python()).args(["-c", "import openwakeword, onnxruntime"]).output().is_ok_and(|o| o.status.success());
    if !has_oww {
        hearth_wake::testkit::skip::<()>("the Python module openwakeword is missing (pip install openwakeword onnxruntime)");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/wake/oww_reference.py");
    let output = Command::new(python())
        .arg(script)
        .args(["scores", "--model-dir"])
        .arg(&out)
        .args(["--word", "ok_computer.onnx"])
        .args(clips.iter().map(|(_, p, _)| p))
        .output()
        .expect("run the reference script");
    assert!(output.status.success(), "openwakeword could not load or run the model: {}", String::from_utf8_lossy(&output.stderr));
    let reference: BTreeMap<String, BTreeMap<String, Vec<f32>>> = serde_json::from_slice(&output.stdout).unwrap();
    let mut worst = 0.0f32;
    for (name, path, _) in &clips {
        let theirs = &reference[&path.display().to_string()]["ok_computer"];
        let ours = &hearth[name];
        assert_eq!(theirs.len(), ours.len(), "{name}: step count");
        for (step, (t, o)) in theirs.iter().zip(ours).enumerate() {
            worst = worst.max((t - o).abs());
            assert!((t - o).abs() <= PARITY, "{name} step {step}: python {t:.4}, hearth {o:.4}");
        }
    }
    eprintln!("largest python/hearth step difference {worst:.5}");
}
