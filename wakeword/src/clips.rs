//! Rendering the plan: each [`ClipSpec`] spoken (or read, or generated), augmented, laid over its
//! background and turned into features, skipping every clip whose features are already cached. Then
//! the windows the classifier sees are cut from the features.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::audio::{self, RATE_HZ};
use crate::dataset::{Background, ClipClass, ClipSpec, Source};
use crate::features::{step_end_sample, FeatureCache, FrontEnd, EMBEDDING_DIM};
use crate::model::Examples;
use crate::voices::Synthesizer;
use crate::WakewordError;

/// Positive windows end from the end of the phrase to this much after it (a detection may come a few
/// steps late; earlier windows hold only part of the phrase).
const POSITIVE_SPAN_SAMPLES: usize = 5 * 1280;
/// Audio every positive window needs before its end: the classifier's W steps plus one embedding.
fn context_samples(window: usize) -> usize {
    step_end_sample(window - 1)
}

/// A clip's features and where its speech ends.
#[derive(Debug, Clone)]
pub struct ClipFeatures {
    /// Index into the plan.
    pub index: usize,
    /// Row-major [step][96].
    pub features: Vec<f32>,
    /// The sample where the speech ends (positives), from the clip's start.
    pub speech_end: usize,
    /// Length of the clip, samples.
    pub samples: usize,
}

impl ClipFeatures {
    pub fn steps(&self) -> usize {
        self.features.len() / EMBEDDING_DIM
    }

    /// The window of `w` steps ending at step `k`.
    pub fn window(&self, k: usize, w: usize) -> &[f32] {
        &self.features[(k + 1 - w) * EMBEDDING_DIM..(k + 1) * EMBEDDING_DIM]
    }
}

/// Audio sources read once per run.
#[derive(Default)]
pub struct AudioFiles {
    files: HashMap<PathBuf, Vec<f32>>,
}

impl AudioFiles {
    pub fn get(&mut self, path: &Path) -> Result<&[f32], WakewordError> {
        if !self.files.contains_key(path) {
            let audio = audio::read_wav(path)?;
            self.files.insert(path.to_path_buf(), audio);
        }
        Ok(&self.files[path])
    }
}

/// Renders a clip: the audio and the sample where its speech ends. The speech starts late enough that
/// a full classifier window of `window` steps ends with it.
pub fn render(spec: &ClipSpec, synth: &mut Synthesizer, files: &mut AudioFiles, window: usize) -> Result<(Vec<f32>, usize), WakewordError> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let ms = |ms: u32| ms as usize * RATE_HZ as usize / 1000;
    let mut speech = match &spec.source {
        Source::Synth { speaker, delivery, text } => synth.speak(speaker, delivery, text)?,
        Source::Recording { path, .. } => audio::trim_silence(files.get(path)?).to_vec(),
        Source::Noise { kind, ms: len } => audio::noise(*kind, ms(*len), &mut rng),
        Source::Room { path, offset_ms, ms: len, .. } => {
            let all = files.get(path)?;
            let start = ms(*offset_ms).min(all.len());
            all[start..(start + ms(*len)).min(all.len())].to_vec()
        }
        Source::Chime { index } => {
            let kind = hearth_audio::chime::ALL[*index % hearth_audio::chime::ALL.len()];
            audio::from_s16(&hearth_audio::chime::render(kind, RATE_HZ))
        }
    };
    if speech.is_empty() {
        return Err(WakewordError::Training(format!("clip {:?} rendered no audio", spec.source)));
    }
    let a = &spec.augment;
    speech = audio::change_speed(&speech, a.speed);
    if let Some(rt60) = a.reverb_rt60_s {
        speech = audio::reverb(&speech, rt60, &mut rng);
    }
    audio::set_peak(&mut speech, a.peak_dbfs);

    // Lay the speech over its background so that the phrase ends after a full window of context.
    let speaks = matches!(spec.source, Source::Synth { .. } | Source::Recording { .. }) || spec.class == ClipClass::Chime;
    let lead = if speaks { ms(a.lead_ms) + context_samples(window).saturating_sub(speech.len()) } else { 0 };
    let tail = if speaks { ms(a.tail_ms) } else { 0 };
    let total = lead + speech.len() + tail;
    let mut clip = vec![0.0f32; total];
    clip[lead..lead + speech.len()].copy_from_slice(&speech);
    // A faint floor of noise: real microphones never deliver digital silence.
    let floor = audio::noise(audio::NoiseKind::Pink, total, &mut rng);
    let floor_gain = 10f32.powf(rng.gen_range(-70.0f32..-50.0) / 20.0) / 0.1;
    for (c, f) in clip.iter_mut().zip(&floor) {
        *c += f * floor_gain;
    }
    if let Some((bg, snr_db)) = &a.noise {
        let noise = match bg {
            Background::Synthetic(kind) => audio::noise(*kind, total, &mut rng),
            Background::Room { path, offset_ms, .. } => {
                let all = files.get(path)?;
                let start = ms(*offset_ms).min(all.len().saturating_sub(1));
                all[start..].iter().chain(all.iter()).copied().take(total).collect()
            }
        };
        // The SNR is relative to the speech, not to the mostly quiet clip.
        let speech_rms = audio::rms(&speech).max(1e-6);
        let scale = speech_rms / audio::rms(&noise).max(1e-9) / 10f32.powf(snr_db / 20.0);
        for (c, n) in clip.iter_mut().zip(&noise) {
            *c += n * scale;
        }
    }
    let peak = clip.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak > 0.99 {
        clip.iter_mut().for_each(|s| *s *= 0.99 / peak);
    }
    Ok((clip, lead + speech.len()))
}

/// Features of every clip of the plan, from the cache where they are, rendering the rest. The speech
/// end is stored beside the features as one extra row (its first value), so the cache holds all.
pub fn features_for_plan(
    plan: &[ClipSpec],
    synth: &mut Synthesizer,
    front: &mut FrontEnd,
    cache: &FeatureCache,
    window: usize,
    progress: bool,
) -> Result<Vec<ClipFeatures>, WakewordError> {
    let bar = if progress { ProgressBar::new(plan.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} clips, {eta} left {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix("features");
    let mut files = AudioFiles::default();
    let mut out = Vec::with_capacity(plan.len());
    let mut computed = 0;
    for (index, spec) in plan.iter().enumerate() {
        let key = spec.key();
        let stored = match cache.get(&key) {
            Some(v) if v.len() >= EMBEDDING_DIM => v,
            _ => {
                let (clip, speech_end) = render(spec, synth, &mut files, window)?;
                let features = front.features(&clip)?;
                let mut stored = vec![0.0f32; EMBEDDING_DIM];
                stored[0] = speech_end as f32;
                stored[1] = clip.len() as f32;
                stored.extend_from_slice(&features);
                cache.put(&key, &stored)?;
                computed += 1;
                stored
            }
        };
        let (speech_end, samples) = (stored[0] as usize, stored[1] as usize);
        out.push(ClipFeatures { index, features: stored[EMBEDDING_DIM..].to_vec(), speech_end, samples });
        bar.set_message(format!("({computed} new)"));
        bar.inc(1);
    }
    bar.finish();
    Ok(out)
}

/// The steps of a positive clip whose windows hold the whole phrase and end near it.
pub fn positive_steps(c: &ClipFeatures, window: usize) -> Vec<usize> {
    (window - 1..c.steps())
        .filter(|&k| {
            let end = step_end_sample(k);
            end >= c.speech_end && end <= c.speech_end + POSITIVE_SPAN_SAMPLES
        })
        .collect()
}

/// Every full window of a clip, `stride` steps apart.
pub fn all_steps(c: &ClipFeatures, window: usize, stride: usize) -> Vec<usize> {
    (window - 1..c.steps()).step_by(stride.max(1)).collect()
}

/// Training examples from clips: the phrase's windows as positives; every window of anything else as
/// negatives (near-misses weigh `near_miss_weight`).
pub fn examples(plan: &[ClipSpec], clips: &[&ClipFeatures], window: usize, near_miss_weight: f32) -> Examples {
    let mut ex = Examples::new(window);
    for c in clips {
        let class = &plan[c.index].class;
        if class.is_positive() {
            for k in positive_steps(c, window) {
                ex.push(c.window(k, window), true, 1.0);
            }
        } else {
            // Near-misses, chimes and the assistant's own voice are the negatives a model most
            // easily gets wrong and that matter most (a chime that wakes it loops forever).
            let weight = match class {
                ClipClass::NearMiss(_) | ClipClass::OwnVoice => near_miss_weight,
                ClipClass::Chime => 2.0 * near_miss_weight,
                _ => 1.0,
            };
            // Every window of a near-miss (the hardest negatives), every other one of the rest.
            let stride = if matches!(class, ClipClass::NearMiss(_)) { 1 } else { 2 };
            for k in all_steps(c, window, stride) {
                ex.push(c.window(k, window), false, weight);
            }
        }
    }
    ex
}
