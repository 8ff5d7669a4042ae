//! `hearth wakeword train "phrase"`, step by step: near-misses, speakers, the plan, features (cached),
//! training, the `.onnx` file, the threshold chosen on the validation voices and the report measured
//! on the test voices (neither seen in training).

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::clips::{self, ClipFeatures};
use crate::dataset::{self, ClipSpec, PlanInput, Recordings, Sizes, Split};
use crate::eval::{self, Report, Scorer, Scored};
use crate::features::{FeatureCache, FrontEnd};
use crate::model::{self, TrainSettings};
use crate::nearmiss::{self, NearMiss, NearMissKind, NearMissLimits};
use crate::voices::{self, Speaker, Synthesizer};
use crate::WakewordError;

/// The classifier's window: 16 steps (1.28 s), as openWakeWord's own models.
pub const WINDOW: usize = 16;
/// Near-miss windows count this much more than other negatives.
const NEAR_MISS_WEIGHT: f32 = 4.0;

/// Everything `train` needs.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub phrase: String,
    /// Where the model goes (the wake service's model directory, so it loads by name).
    pub out_dir: PathBuf,
    /// Folder with `melspectrogram.onnx` and `embedding_model.onnx`.
    pub front_end_dir: PathBuf,
    pub onnxruntime: PathBuf,
    /// Folders with Piper voices.
    pub piper_dirs: Vec<PathBuf>,
    /// The assistant's own voice, spoken as negatives.
    pub own_voice: Option<Speaker>,
    /// The user's recordings (`record` makes them).
    pub recordings: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub sizes: Sizes,
    pub settings: TrainSettings,
    pub seed: u64,
    pub progress: bool,
    pub threads: usize,
}

/// Written beside the model as `<name>.json`: what it was trained on and what it scored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelCard {
    pub phrase: String,
    pub name: String,
    pub suggested_threshold: f32,
    pub near_misses: Vec<NearMiss>,
    pub train_speakers: usize,
    pub validation_speakers: usize,
    pub test_speakers: usize,
    pub train_windows: usize,
    pub train_positive_windows: usize,
    /// Per epoch: training loss and balanced accuracy on the validation windows at 0.5.
    pub epochs: Vec<(f32, f32)>,
    /// Measured on the test voices at 0.5, for comparison with the suggested threshold.
    pub report_at_half: Report,
    pub recorded_takes: usize,
    pub seconds: TrainTimes,
    /// Measured on the test voices at the suggested threshold.
    pub report: Report,
    pub sizes: Sizes,
    pub seed: u64,
    /// The recordings and Piper folders it was trained with, so `eval` rebuilds the same held-out set.
    #[serde(default)]
    pub recordings: Option<PathBuf>,
    #[serde(default)]
    pub piper_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainTimes {
    pub features: f32,
    pub training: f32,
    pub evaluation: f32,
    pub total: f32,
}

/// What `train` leaves behind.
#[derive(Debug, Clone)]
pub struct Trained {
    pub model: PathBuf,
    pub card: ModelCard,
}

/// Speakers from the Piper folders and espeak-ng; an error naming the fix when there are none.
pub fn speakers(piper_dirs: &[PathBuf], sizes: &Sizes) -> Result<Vec<Speaker>, WakewordError> {
    let mut all = voices::piper_speakers(piper_dirs, sizes.piper_speakers_per_voice)?;
    all.extend(voices::espeak_speakers(sizes.espeak_speakers));
    if all.len() < 3 {
        let looked: Vec<String> = piper_dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(WakewordError::NoVoices(format!(
            "{} synthetic speakers (Piper voices looked for in [{}], espeak-ng speakers {}); at least 3 are needed so some \
             can be held out — install a Piper voice with `hearth models pull piper-en_US-libritts_r-medium` or allow espeak-ng speakers",
            all.len(),
            looked.join(", "),
            sizes.espeak_speakers
        )));
    }
    Ok(all)
}

/// The plan and its features, ready for training or evaluation.
pub struct Prepared {
    pub plan: Vec<ClipSpec>,
    pub features: Vec<ClipFeatures>,
    pub near_misses: Vec<NearMiss>,
    pub speakers: Vec<Speaker>,
    pub recordings: Recordings,
}

impl Prepared {
    /// The clips of one split.
    pub fn split(&self, split: Split) -> Vec<&ClipFeatures> {
        self.features.iter().filter(|c| self.plan[c.index].split == split).collect()
    }
}

/// Near-misses, speakers, the plan, and every clip's features (from the cache where they are).
pub fn prepare(opts: &TrainOptions) -> Result<Prepared, WakewordError> {
    nearmiss::phrase_words(&opts.phrase)?;
    let recordings = match &opts.recordings {
        Some(dir) => crate::record::load(dir)?,
        None => Recordings::default(),
    };
    let speakers = speakers(&opts.piper_dirs, &opts.sizes)?;
    let mut near_misses = nearmiss::near_misses(&opts.phrase, &NearMissLimits::default())?;
    for (text, _) in &recordings.near_misses {
        if !near_misses.iter().any(|n| &n.text == text) {
            near_misses.push(NearMiss { text: text.clone(), kind: NearMissKind::Recorded });
        }
    }
    let input = PlanInput {
        phrase: &opts.phrase,
        near_misses: &near_misses,
        speakers: &speakers,
        own_voice: opts.own_voice.as_ref(),
        recordings: &recordings,
        sizes: &opts.sizes,
        seed: opts.seed,
    };
    let plan = dataset::plan(&input);
    if opts.progress {
        eprintln!(
            "{}: {} near-miss phrases, {} speakers, {} recorded takes, {} clips",
            opts.phrase,
            near_misses.len(),
            speakers.len(),
            recordings.positives.len(),
            plan.len()
        );
    }
    let mut synth = Synthesizer::new(&opts.onnxruntime, opts.threads)?;
    let mut front = FrontEnd::load(&opts.front_end_dir, &opts.onnxruntime, opts.threads)?;
    let cache = FeatureCache::new(opts.cache_dir.join("features"))?;
    let features = clips::features_for_plan(&plan, &mut synth, &mut front, &cache, WINDOW, opts.progress)?;
    Ok(Prepared { plan, features, near_misses, speakers, recordings })
}

/// The whole training run.
pub fn train(opts: &TrainOptions) -> Result<Trained, WakewordError> {
    let started = Instant::now();
    let name = nearmiss::model_name(&opts.phrase)?;
    let prepared = prepare(opts)?;
    let features_s = started.elapsed().as_secs_f32();
    let plan = &prepared.plan;
    let (train_clips, val_clips, test_clips) =
        (prepared.split(Split::Train), prepared.split(Split::Validation), prepared.split(Split::Test));
    let train_set = clips::examples(plan, &train_clips, WINDOW, NEAR_MISS_WEIGHT);
    let val_set = clips::examples(plan, &val_clips, WINDOW, NEAR_MISS_WEIGHT);
    let t0 = Instant::now();
    let bar = epoch_bar(opts.progress, opts.settings.epochs);
    let mut epochs = Vec::new();
    let weights = model::train(&train_set, &val_set, &opts.settings, |e| {
        epochs.push((e.train_loss, e.val_balanced_accuracy));
        bar.set_message(format!("loss {:.4}, validation balanced accuracy {:.3}", e.train_loss, e.val_balanced_accuracy));
        bar.inc(1);
        true
    })?;
    bar.finish();
    let training_s = t0.elapsed().as_secs_f32();

    std::fs::create_dir_all(&opts.out_dir).map_err(|e| WakewordError::file(&opts.out_dir, e))?;
    let model_path = opts.out_dir.join(format!("{name}.onnx"));
    weights.write_onnx(&model_path, &format!("openWakeWord classifier for \"{}\", trained by hearth wakeword", opts.phrase))?;

    let t1 = Instant::now();
    let mut scorer = Scorer::load(&model_path, &opts.onnxruntime)?;
    let threshold = eval::suggest_threshold(&score(&mut scorer, plan, &val_clips)?);
    let test_scored = score(&mut scorer, plan, &test_clips)?;
    let mut report = eval::report(&test_scored, threshold);
    report.suggested_threshold = threshold;
    let mut report_at_half = eval::report(&test_scored, 0.5);
    report_at_half.suggested_threshold = threshold;
    let evaluation_s = t1.elapsed().as_secs_f32();

    let count_speakers =
        |split: Split| prepared.speakers.iter().filter(|s| dataset::speaker_split(s, opts.sizes.validation_percent) == split).count();
    let card = ModelCard {
        phrase: opts.phrase.clone(),
        name: name.clone(),
        suggested_threshold: threshold,
        near_misses: prepared.near_misses.clone(),
        train_speakers: count_speakers(Split::Train),
        validation_speakers: count_speakers(Split::Validation),
        test_speakers: count_speakers(Split::Test),
        train_windows: train_set.len(),
        train_positive_windows: train_set.positives(),
        epochs,
        report_at_half,
        recorded_takes: prepared.recordings.positives.len(),
        seconds: TrainTimes { features: features_s, training: training_s, evaluation: evaluation_s, total: started.elapsed().as_secs_f32() },
        report,
        sizes: opts.sizes.clone(),
        seed: opts.seed,
        recordings: opts.recordings.clone(),
        piper_dirs: opts.piper_dirs.clone(),
    };
    write_card(&model_path, &card)?;
    Ok(Trained { model: model_path, card })
}

/// `eval MODEL` without a folder: the model's own plan rebuilt (features from the cache), the
/// threshold suggested on the validation voices (unless given), figures on the test voices.
pub fn evaluate_held_out(opts: &TrainOptions, model: &Path, threshold: Option<f32>) -> Result<Report, WakewordError> {
    let prepared = prepare(opts)?;
    let mut scorer = Scorer::load(model, &opts.onnxruntime)?;
    let suggested = eval::suggest_threshold(&score(&mut scorer, &prepared.plan, &prepared.split(Split::Validation))?);
    let mut report = eval::report(&score(&mut scorer, &prepared.plan, &prepared.split(Split::Test))?, threshold.unwrap_or(suggested));
    report.suggested_threshold = suggested;
    Ok(report)
}

/// Scores clips of the plan with the written model.
pub fn score(scorer: &mut Scorer, plan: &[ClipSpec], clips: &[&ClipFeatures]) -> Result<Vec<Scored>, WakewordError> {
    let items: Vec<_> = clips.iter().map(|c| (plan[c.index].class.clone(), plan[c.index].is_noisy(), *c)).collect();
    eval::score_clips(scorer, &items)
}

/// The model card's path: `<model>.json` beside `<model>.onnx`.
pub fn card_path(model: &Path) -> PathBuf {
    model.with_extension("json")
}

fn write_card(model: &Path, card: &ModelCard) -> Result<(), WakewordError> {
    let path = card_path(model);
    let json = serde_json::to_string_pretty(card).map_err(|e| WakewordError::file(&path, e))?;
    std::fs::write(&path, json).map_err(|e| WakewordError::file(&path, e))
}

pub fn read_card(model: &Path) -> Result<ModelCard, WakewordError> {
    let path = card_path(model);
    let text = std::fs::read_to_string(&path).map_err(|e| WakewordError::file(&path, format!("{e} (the model card `train` writes)")))?;
    serde_json::from_str(&text).map_err(|e| WakewordError::file(&path, e))
}

fn epoch_bar(show: bool, epochs: usize) -> ProgressBar {
    let bar = if show { ProgressBar::new(epochs as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} epochs {msg}").expect("valid template").progress_chars("=> "),
    );
    bar.set_prefix("training");
    bar
}
