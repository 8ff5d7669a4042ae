//! The assistant must never wake itself: its chimes and its own Piper voice (en_US-joe-medium, the real
//! voice from `$HEARTH_CACHE/real-models/piper`) saying over a hundred ordinary replies score below
//! [`QUIET_MAX_SCORE`] on every shipped wake word (the real models in `../shared/models/openwakeword`).
//!
//! The voice is heard as the microphone would hear a WAV speaker: Piper's 22.05 kHz audio through the
//! audio service's own microphone pipeline (downmix, resample to 16 kHz s16).

use hearth_audio::resample::{MicFrame, MicPipeline};
use hearth_bus::audio::ChimeKind;
use hearth_tts::Engine;
use hearth_wake::clip::score_clip;
use hearth_wake::testkit::{self, detector_for, QUIET_MAX_SCORE};

use crate::util;

const VOICE: &str = "en_US-joe-medium.onnx";

/// At least 100 different replies of the kinds the assistant gives: timers, weather, time, facts,
/// confirmations, apologies. Built from templates so the set is large without being random.
fn replies() -> Vec<String> {
    let mut out = Vec::new();
    for (n, unit) in [(5, "minutes"), (10, "minutes"), (15, "minutes"), (20, "seconds"), (1, "hour"), (45, "minutes"), (3, "minutes"), (90, "seconds")] {
        out.push(format!("Okay, I set a timer for {n} {unit}."));
        out.push(format!("Your {n} {unit} timer is done."));
    }
    for (food, n) in [("pasta", 4), ("egg", 2), ("tea", 3), ("pizza", 12), ("rice", 9), ("bread", 25), ("soup", 7), ("cake", 30)] {
        out.push(format!("The {food} timer has {n} minutes left."));
        out.push(format!("I started a {food} timer."));
    }
    for (city, sky, high) in [("Berlin", "cloudy", 14), ("Paris", "sunny", 22), ("London", "rainy", 11), ("Madrid", "clear", 31), ("Oslo", "snowy", -3), ("Boston", "windy", 8), ("Tokyo", "humid", 27), ("Sydney", "mild", 19)] {
        out.push(format!("Tomorrow in {city} it will be {sky}, with a high of {high} degrees."));
        out.push(format!("Right now it's {high} degrees and {sky} in {city}."));
    }
    for (h, m, part) in [(7, 15, "AM"), (12, 0, "PM"), (3, 45, "PM"), (9, 30, "PM"), (11, 5, "AM"), (6, 50, "PM")] {
        out.push(format!("It's {h}:{m:02} {part}."));
    }
    for day in ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] {
        out.push(format!("Today is {day}."));
    }
    for (room, thing) in [("kitchen", "lights"), ("living room", "lamp"), ("bedroom", "heater"), ("hallway", "lights"), ("office", "fan")] {
        out.push(format!("Okay, turning off the {room} {thing}."));
        out.push(format!("The {room} {thing} is already on."));
    }
    out.extend(
        [
            "The Eiffel Tower is three hundred and thirty metres tall and was finished in 1889.",
            "Mount Everest is the highest mountain on Earth, at about eight thousand eight hundred metres.",
            "The Pacific is the largest ocean, covering about a third of the planet.",
            "Honey never spoils if it is kept sealed.",
            "A day on Venus is longer than its year.",
            "The Great Wall of China is more than twenty thousand kilometres long.",
            "Octopuses have three hearts and blue blood.",
            "The Moon is slowly drifting away from the Earth, about four centimetres a year.",
            "Water boils at a lower temperature high up in the mountains.",
            "Bananas are berries, but strawberries are not.",
            "The speed of light is about three hundred thousand kilometres per second.",
            "Shakespeare wrote about thirty-seven plays.",
            "The human body has two hundred and six bones.",
            "Sorry, I didn't catch that. Could you say it again?",
            "I'm not sure about that one.",
            "There are no timers running.",
            "You have two timers: pasta with three minutes left, and tea with one minute left.",
            "Done.",
            "Okay.",
            "All right, cancelled.",
            "Good morning! It's going to be a lovely day.",
            "Good night. Sleep well.",
            "I can set timers, tell you the time and the weather, and look things up.",
            "The timer for the oven has been stopped.",
            "It will rain in the afternoon, so take an umbrella.",
            "Sunrise is at six forty-two, and sunset at eight fifteen.",
            "The wind will pick up this evening, with gusts of up to sixty kilometres an hour.",
            "Paris is the capital of France.",
            "Ten times twelve is one hundred and twenty.",
            "A marathon is forty-two point two kilometres long.",
            "Sure, I'll remind you in an hour.",
            "The living room is at twenty-one degrees.",
            "That's all for now.",
            "I couldn't reach the weather service. Please try again later.",
            "Here's what I found on Wikipedia: the platypus is a mammal that lays eggs.",
        ]
        .map(String::from),
    );
    out
}

/// The real joe voice, or a skip (a failure under CI=true) that says how to get it.
fn joe_voice() -> Option<Engine> {
    let (Some(path), Some(lib)) = (util::real_voice(VOICE), util::onnxruntime()) else { return None };
    let engine = Engine::load(&util::config_for(&path, &lib)).expect("espeak-ng starts");
    if let Some(why) = &engine.fallback_reason {
        panic!("the real Piper voice did not load: {why}");
    }
    Some(engine)
}

/// Audio at `rate_hz` as the microphone pipeline delivers it: 16 kHz mono s16.
fn as_heard(audio: &[i16], rate_hz: u32) -> Vec<i16> {
    let mut pipeline = MicPipeline::new(rate_hz, 1).unwrap();
    let mut frames: Vec<MicFrame> = Vec::new();
    let block: Vec<f32> = audio.iter().map(|&s| s as f32 / 32768.0).collect();
    pipeline.push(&block, 0.0, &mut frames).unwrap();
    pipeline.finish(&mut frames).unwrap();
    frames.into_iter().flat_map(|f| f.samples).collect()
}

#[test]
fn chimes_and_the_assistants_own_voice_never_wake_it() {
    let (Some(dir), Some(lib)) = (testkit::real_oww_dir(), testkit::onnxruntime()) else { return };
    let Some(mut voice) = joe_voice() else { return };
    let mut detector = detector_for(&dir, &lib);
    assert!(detector.words().len() >= 3, "every shipped word: {:?}", detector.words());

    // The highest score of any word: (score, word, what was played), for chimes and for the voice.
    type Worst = (f32, String, String);
    let check = |worst: &mut Worst, what: String, heard: &[i16], detector: &mut hearth_wake::WakeDetector| {
        let scores = score_clip(detector, heard);
        for w in &scores.words {
            assert!(w.detections_ms.is_empty(), "{} fired on {what}", w.word);
            if w.max_score > worst.0 {
                *worst = (w.max_score, w.word.clone(), what.clone());
            }
        }
    };
    let (mut chimes, mut voiced): (Worst, Worst) = Default::default();
    for kind in [ChimeKind::Listening, ChimeKind::GotIt, ChimeKind::Timer, ChimeKind::Error] {
        let chime = hearth_audio::chime::render(kind, 16_000);
        check(&mut chimes, format!("the {kind:?} chime"), &chime, &mut detector);
    }
    let replies = replies();
    assert!(replies.len() >= 100, "{} replies", replies.len());
    let rate = voice.sample_rate_hz();
    let mut spoken_s = 0.0;
    for reply in &replies {
        let audio = voice.speak(reply).unwrap();
        assert!(audio.len() > rate as usize / 4, "{reply:?} gave {} samples", audio.len());
        spoken_s += audio.len() as f64 / rate as f64;
        let heard = as_heard(&audio, rate);
        check(&mut voiced, format!("joe saying {reply:?}"), &heard, &mut detector);
        // A reply straight after the "got it" chime, as a turn sounds.
        let mut turn = hearth_audio::chime::render(ChimeKind::GotIt, 16_000);
        turn.extend(&heard);
        check(&mut voiced, format!("the got-it chime then joe saying {reply:?}"), &turn, &mut detector);
    }
    println!(
        "self-voice: {} replies ({spoken_s:.0} s of speech): highest score {:.4} ({} on {}); 4 chimes: highest {:.4} ({} on {})",
        replies.len(),
        voiced.0,
        voiced.1,
        voiced.2,
        chimes.0,
        chimes.1,
        chimes.2
    );
    for (score, word, what) in [&voiced, &chimes] {
        assert!(*score < QUIET_MAX_SCORE, "{word} scored {score:.3} on {what}");
    }
}
