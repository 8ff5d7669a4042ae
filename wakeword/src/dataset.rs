//! The plan of clips for one phrase: who says what, with which augmentation, and whether it trains or
//! validates. Every clip is described by a [`ClipSpec`] whose hash names its cached features, so the
//! same plan (same phrase, voices, sizes and seed) finds everything already computed.
//!
//! The seed's lessons are in the plan itself:
//! - near-misses are spoken by the *same* speakers as the positives, so a voice never separates the
//!   classes and only the rest of the phrase does;
//! - the room's noise (recorded, else synthetic) is used both ways: mixed into positives at a range of
//!   SNRs, and alone as negatives;
//! - the assistant's chimes and its own voice are negatives;
//! - speakers are split between training and validation by name, so the reported score is on voices
//!   the classifier never heard; the user's own takes are split by take.

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audio::{NoiseKind, NOISE_KINDS};
use crate::nearmiss::NearMiss;
use crate::voices::{Delivery, Speaker};

/// Bump when the way clips are rendered changes, so old cached features are not reused.
const RENDER_VERSION: u32 = 1;

/// What a clip teaches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClipClass {
    Positive,
    /// A near-miss phrase.
    NearMiss(String),
    /// General speech.
    Speech,
    /// The assistant's own replies in its own voice.
    OwnVoice,
    /// Noise alone (the room's, or synthetic).
    Noise,
    /// One of the assistant's chimes.
    Chime,
}

impl ClipClass {
    pub fn is_positive(&self) -> bool {
        *self == ClipClass::Positive
    }
}

/// Where the sound comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Source {
    Synth { speaker: Speaker, delivery: Delivery, text: String },
    /// A user's recording (16 kHz after reading), its path and size so a changed file is seen.
    Recording { path: PathBuf, bytes: u64 },
    /// Synthetic noise of this length.
    Noise { kind: NoiseKind, ms: u32 },
    /// A stretch of a recorded room background.
    Room { path: PathBuf, bytes: u64, offset_ms: u32, ms: u32 },
    /// A chime of the audio service (index into `hearth_audio::chime::ALL`).
    Chime { index: usize },
}

/// Background under the speech.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Background {
    Synthetic(NoiseKind),
    /// Recorded room noise: file and where to start, milliseconds.
    Room { path: PathBuf, bytes: u64, offset_ms: u32 },
}

/// How a clip is changed after it is spoken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Playback speed factor (pitch follows).
    pub speed: f32,
    /// Peak level of the speech, dBFS.
    pub peak_dbfs: f32,
    /// Room reverb time, seconds.
    pub reverb_rt60_s: Option<f32>,
    /// Noise under the whole clip and the speech's SNR above it, dB.
    pub noise: Option<(Background, f32)>,
    /// Background before the speech, milliseconds (long enough that a full classifier window fits
    /// before the phrase ends).
    pub lead_ms: u32,
    pub tail_ms: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Split {
    Train,
    /// Chooses the threshold and shows training progress.
    Validation,
    /// Measures the final figures, with voices neither training nor the threshold saw.
    Test,
}

impl Split {
    /// The split of the `k`th item of something without speakers (takes, noise stretches, chimes):
    /// one in five validates and one in five tests.
    pub fn of_item(k: usize) -> Split {
        match k % 5 {
            4 => Split::Validation,
            2 => Split::Test,
            _ => Split::Train,
        }
    }
}

/// One clip of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipSpec {
    pub class: ClipClass,
    pub source: Source,
    pub augment: Augment,
    pub split: Split,
    /// Seeds the clip's own randomness (noise, reverb).
    pub seed: u64,
}

impl ClipSpec {
    /// The cache key: a hash of everything that makes the clip.
    pub fn key(&self) -> String {
        let json = serde_json::to_string(&(RENDER_VERSION, self)).expect("clip specs serialize");
        let digest = Sha256::digest(json.as_bytes());
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    pub fn is_noisy(&self) -> bool {
        self.augment.noise.is_some()
    }
}

/// How much data to make. [`Sizes::full`] is the default of `train`; [`Sizes::small`] is for tests
/// and quick tries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sizes {
    /// espeak-ng speakers (accent × variant), at most 400.
    pub espeak_speakers: usize,
    /// Speakers taken from each multi-speaker Piper voice.
    pub piper_speakers_per_voice: usize,
    /// Takes of the phrase per espeak-ng speaker and per multi-speaker Piper speaker.
    pub takes_per_speaker: usize,
    /// Takes of the phrase per single-speaker Piper voice (varied length and noise scales).
    pub takes_per_single_voice: usize,
    /// Extra noisy or reverberant copies of each positive.
    pub augmented_copies: usize,
    /// Speakers that say each near-miss phrase (drawn from the positives' speakers).
    pub near_miss_speakers: usize,
    /// General speech clips.
    pub speech_clips: usize,
    /// Clips of the assistant's replies in its own voice.
    pub own_voice_clips: usize,
    /// Noise-only clips (four seconds each).
    pub noise_clips: usize,
    /// Chime clips (each chime at several levels, some with noise).
    pub chime_clips: usize,
    /// Share of speakers held out for validation, and the same share again for the test, percent.
    pub validation_percent: u32,
}

impl Sizes {
    pub fn full() -> Sizes {
        Sizes {
            espeak_speakers: 400,
            piper_speakers_per_voice: 60,
            takes_per_speaker: 2,
            takes_per_single_voice: 40,
            augmented_copies: 2,
            near_miss_speakers: 60,
            speech_clips: 800,
            own_voice_clips: 60,
            noise_clips: 160,
            chime_clips: 24,
            validation_percent: 20,
        }
    }

    pub fn small() -> Sizes {
        Sizes {
            espeak_speakers: 60,
            piper_speakers_per_voice: 3,
            takes_per_speaker: 2,
            takes_per_single_voice: 6,
            augmented_copies: 2,
            near_miss_speakers: 16,
            speech_clips: 60,
            own_voice_clips: 6,
            noise_clips: 16,
            chime_clips: 8,
            validation_percent: 25,
        }
    }
}

/// What the user recorded (`record` leaves these in one folder).
#[derive(Debug, Clone, Default)]
pub struct Recordings {
    /// Takes of the phrase.
    pub positives: Vec<PathBuf>,
    /// Near-miss takes and the phrase each one says.
    pub near_misses: Vec<(String, PathBuf)>,
    /// The room's own background.
    pub room: Vec<PathBuf>,
}

/// Everything `plan` needs.
pub struct PlanInput<'a> {
    pub phrase: &'a str,
    pub near_misses: &'a [NearMiss],
    pub speakers: &'a [Speaker],
    /// The assistant's own voice (its configured Piper voice), if installed.
    pub own_voice: Option<&'a Speaker>,
    pub recordings: &'a Recordings,
    pub sizes: &'a Sizes,
    pub seed: u64,
}

/// General sentences for negative speech.
const SENTENCES: &str = include_str!("sentences.txt");
/// The kind of thing the assistant says.
const REPLIES: &[&str] = &[
    "It's 14 degrees and cloudy in Paris.",
    "Your timer for ten minutes is done.",
    "It's twenty past seven.",
    "I set a timer for five minutes.",
    "Tomorrow will be sunny with a high of 22.",
    "I don't know that one.",
    "The kitchen light is off.",
    "Playing music in the living room.",
    "You have two timers running.",
    "Okay, I turned the heating down.",
    "I can see a cat sitting on a sofa.",
    "The capital of Australia is Canberra.",
];

/// Whether a speaker validates: a stable hash of its name, so the split never changes between runs.
pub fn speaker_split(speaker: &Speaker, validation_percent: u32) -> Split {
    let h = Sha256::digest(speaker.name().as_bytes());
    let bucket = (u32::from(h[0]) * 256 + u32::from(h[1])) % 100;
    if bucket < validation_percent {
        Split::Validation
    } else if bucket < 2 * validation_percent {
        Split::Test
    } else {
        Split::Train
    }
}

/// The whole plan.
pub fn plan(input: &PlanInput) -> Vec<ClipSpec> {
    let mut rng = StdRng::seed_from_u64(input.seed);
    let sizes = input.sizes;
    let mut clips = Vec::new();
    let room = &input.recordings.room;
    let mut split_of: Vec<Split> = input.speakers.iter().map(|s| speaker_split(s, sizes.validation_percent)).collect();
    // Make sure every side has speakers, whatever the hash did.
    let n = input.speakers.len();
    if n >= 3 {
        for (split, at) in [(Split::Train, 0), (Split::Validation, n - 1), (Split::Test, n - 2)] {
            if !split_of.contains(&split) {
                split_of[at] = split;
            }
        }
    }

    // Positives: every speaker, several takes, each clean plus augmented copies.
    for (i, speaker) in input.speakers.iter().enumerate() {
        let takes = match speaker {
            Speaker::Piper { speaker_id: None, .. } => sizes.takes_per_single_voice,
            _ => sizes.takes_per_speaker,
        };
        for _ in 0..takes {
            let source = Source::Synth { speaker: speaker.clone(), delivery: delivery(&mut rng, speaker), text: input.phrase.into() };
            push_with_copies(&mut clips, &mut rng, ClipClass::Positive, source, split_of[i], sizes.augmented_copies, room);
        }
    }
    for (k, path) in input.recordings.positives.iter().enumerate() {
        let split = Split::of_item(k);
        let source = Source::Recording { path: path.clone(), bytes: file_len(path) };
        // The user's own voice is what matters most: more copies of each take.
        push_with_copies(&mut clips, &mut rng, ClipClass::Positive, source, split, sizes.augmented_copies + 2, room);
    }

    // Near-misses by the same speakers that say the positives (a spread of them, both splits).
    let nm_speakers = spread(input.speakers.len(), sizes.near_miss_speakers);
    for nm in input.near_misses {
        for &i in &nm_speakers {
            let speaker = &input.speakers[i];
            let source = Source::Synth { speaker: speaker.clone(), delivery: delivery(&mut rng, speaker), text: nm.text.clone() };
            let noisy = rng.gen_bool(0.3);
            let aug = augment(&mut rng, room, noisy);
            clips.push(spec(ClipClass::NearMiss(nm.text.clone()), source, aug, split_of[i], &mut rng));
        }
    }
    for (k, (text, path)) in input.recordings.near_misses.iter().enumerate() {
        let split = Split::of_item(k);
        let source = Source::Recording { path: path.clone(), bytes: file_len(path) };
        push_with_copies(&mut clips, &mut rng, ClipClass::NearMiss(text.clone()), source, split, 1, room);
    }

    // General speech by the same speakers, including sentences that use one word of the phrase.
    let mut sentences: Vec<String> = SENTENCES.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    for w in crate::nearmiss::phrase_words(input.phrase).unwrap_or_default() {
        sentences.push(format!("I said {w} to her yesterday."));
        sentences.push(format!("Where did you put the {w} this morning?"));
    }
    let speech_speakers = spread(input.speakers.len(), sizes.speech_clips);
    for (n, &i) in speech_speakers.iter().cycle().take(sizes.speech_clips).enumerate() {
        let speaker = &input.speakers[i];
        let text = sentences[(n * 7 + i) % sentences.len()].clone();
        let source = Source::Synth { speaker: speaker.clone(), delivery: delivery(&mut rng, speaker), text };
        let aug = augment(&mut rng, room, n % 3 == 0);
        clips.push(spec(ClipClass::Speech, source, aug, split_of[i], &mut rng));
    }
    if let Some(own) = input.own_voice {
        for n in 0..sizes.own_voice_clips {
            let source = Source::Synth { speaker: own.clone(), delivery: delivery(&mut rng, own), text: REPLIES[n % REPLIES.len()].into() };
            let split = Split::of_item(n);
            let aug = augment(&mut rng, room, n % 2 == 0);
            clips.push(spec(ClipClass::OwnVoice, source, aug, split, &mut rng));
        }
    }

    // Noise alone: the room's own recordings cut into stretches, and synthetic noises.
    for n in 0..sizes.noise_clips {
        let split = Split::of_item(n);
        let ms = 4000;
        let source = match room.get(n % room.len().max(1)) {
            Some(path) if n % 2 == 0 => {
                let len_ms = recording_ms(path);
                let offset_ms = if len_ms > ms { rng.gen_range(0..len_ms - ms) } else { 0 };
                Source::Room { path: path.clone(), bytes: file_len(path), offset_ms, ms }
            }
            _ => Source::Noise { kind: NOISE_KINDS[n % NOISE_KINDS.len()], ms },
        };
        let aug = Augment { speed: 1.0, peak_dbfs: rng.gen_range(-30.0..-6.0), reverb_rt60_s: None, noise: None, lead_ms: 0, tail_ms: 0 };
        clips.push(spec(ClipClass::Noise, source, aug, split, &mut rng));
    }
    for n in 0..sizes.chime_clips {
        let index = n % hearth_audio::chime::ALL.len();
        let split = Split::of_item(n);
        let aug = augment(&mut rng, room, n % 2 == 1);
        clips.push(spec(ClipClass::Chime, Source::Chime { index }, aug, split, &mut rng));
    }
    clips
}

fn push_with_copies(clips: &mut Vec<ClipSpec>, rng: &mut StdRng, class: ClipClass, source: Source, split: Split, copies: usize, room: &[PathBuf]) {
    clips.push(spec(class.clone(), source.clone(), augment(rng, room, false), split, rng));
    for _ in 0..copies {
        clips.push(spec(class.clone(), source.clone(), augment(rng, room, true), split, rng));
    }
}

fn spec(class: ClipClass, source: Source, augment: Augment, split: Split, rng: &mut StdRng) -> ClipSpec {
    ClipSpec { class, source, augment, split, seed: rng.gen() }
}

/// Per-take variation of the synthesizer's delivery.
fn delivery(rng: &mut StdRng, speaker: &Speaker) -> Delivery {
    if speaker.is_piper() {
        Delivery { length_scale: rng.gen_range(0.8..1.3), noise_scale: rng.gen_range(0.4..0.9), noise_w: rng.gen_range(0.5..1.0) }
    } else {
        Delivery { length_scale: rng.gen_range(0.8..1.25), ..Delivery::default() }
    }
}

/// A clean (`noisy` false: only faint background) or noisy augmentation.
fn augment(rng: &mut StdRng, room: &[PathBuf], noisy: bool) -> Augment {
    let noise = if noisy {
        let bg = match room.get(rng.gen_range(0..room.len().max(1))) {
            Some(path) if rng.gen_bool(0.6) => {
                Background::Room { path: path.clone(), bytes: file_len(path), offset_ms: rng.gen_range(0..recording_ms(path).max(1)) }
            }
            _ => Background::Synthetic(NOISE_KINDS[rng.gen_range(0..NOISE_KINDS.len())]),
        };
        Some((bg, rng.gen_range(0.0..20.0)))
    } else {
        None
    };
    Augment {
        speed: if rng.gen_bool(0.5) { rng.gen_range(0.9..1.1) } else { 1.0 },
        peak_dbfs: rng.gen_range(-24.0..-2.0),
        reverb_rt60_s: if rng.gen_bool(if noisy { 0.5 } else { 0.25 }) { Some(rng.gen_range(0.15..0.6)) } else { None },
        noise,
        lead_ms: rng.gen_range(0..400),
        tail_ms: rng.gen_range(500..900),
    }
}

/// `count` indices spread over `0..n` (all of them when `count >= n`).
fn spread(n: usize, count: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let count = count.min(n).max(1);
    (0..count).map(|k| k * n / count).collect()
}

fn file_len(path: &PathBuf) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Length of a WAV in milliseconds (0 when unreadable).
fn recording_ms(path: &PathBuf) -> u32 {
    hound::WavReader::open(path)
        .map(|r| (r.duration() as u64 * 1000 / r.spec().sample_rate.max(1) as u64) as u32)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nearmiss::NearMissKind;
    use crate::voices::espeak_speakers;

    #[test]
    fn plan_splits_by_speaker_and_shares_speakers_between_classes() {
        let speakers = espeak_speakers(40);
        let nms = vec![NearMiss { text: "ok".into(), kind: NearMissKind::WordAlone }];
        let sizes = Sizes::small();
        let rec = Recordings::default();
        let input = PlanInput { phrase: "ok computer", near_misses: &nms, speakers: &speakers, own_voice: None, recordings: &rec, sizes: &sizes, seed: 3 };
        let clips = plan(&input);
        let name = |c: &ClipSpec| match &c.source {
            Source::Synth { speaker, .. } => Some(speaker.name()),
            _ => None,
        };
        // No speaker is on both sides.
        let train: std::collections::BTreeSet<String> = clips.iter().filter(|c| c.split == Split::Train).filter_map(name).collect();
        let val: std::collections::BTreeSet<String> = clips.iter().filter(|c| c.split == Split::Validation).filter_map(name).collect();
        let test: std::collections::BTreeSet<String> = clips.iter().filter(|c| c.split == Split::Test).filter_map(name).collect();
        assert!(!val.is_empty() && train.is_disjoint(&val), "{val:?}");
        assert!(!test.is_empty() && train.is_disjoint(&test) && val.is_disjoint(&test), "{test:?}");
        // Every near-miss speaker also says the phrase.
        let pos: std::collections::BTreeSet<String> = clips.iter().filter(|c| c.class.is_positive()).filter_map(name).collect();
        let nm: Vec<String> = clips.iter().filter(|c| matches!(c.class, ClipClass::NearMiss(_))).filter_map(name).collect();
        assert_eq!(nm.len(), sizes.near_miss_speakers);
        assert!(nm.iter().all(|n| pos.contains(n)));
        // Positives come clean and noisy; the plan repeats exactly for the same seed.
        assert!(clips.iter().any(|c| c.class.is_positive() && c.is_noisy()));
        assert!(clips.iter().any(|c| c.class.is_positive() && !c.is_noisy()));
        let again = plan(&input);
        assert_eq!(clips.iter().map(ClipSpec::key).collect::<Vec<_>>(), again.iter().map(ClipSpec::key).collect::<Vec<_>>());
        assert!(clips.iter().any(|c| c.class == ClipClass::Chime) && clips.iter().any(|c| c.class == ClipClass::Noise));
    }
}
