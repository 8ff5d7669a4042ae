//! `hearth wake score FILE.wav`: the wake service's engine over a recording, without the bus: per word
//! the highest score and when, and every detection at the configured thresholds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use hearth_audio::resample::{MicFrame, MicPipeline};
use hearth_audio::wav::WavSource;
use hearth_node::NodeFile;
use hearth_wake::{WakeConfig, WakeDetector, WordConfig};

#[derive(Subcommand)]
pub enum WakeCommand {
    /// Score a WAV (any rate and channel count; converted to 16 kHz mono as the microphone is).
    Score(ScoreArgs),
}

#[derive(Args)]
pub struct ScoreArgs {
    pub file: PathBuf,
    /// Words to score instead of the `[wake]` words: a model file name, a name (`hey_jarvis`) or a path.
    #[arg(long = "word")]
    pub words: Vec<String>,
    /// Score every word model in the model directory.
    #[arg(long, conflicts_with = "words")]
    pub all_words: bool,
    /// The openWakeWord model directory (default `[wake] model_dir`, else `<models_dir>/openwakeword`).
    #[arg(long)]
    pub models: Option<PathBuf>,
}

pub fn run(file: &NodeFile, command: WakeCommand) -> anyhow::Result<ExitCode> {
    let WakeCommand::Score(args) = command;
    let mut config = WakeConfig::load(file)?;
    if let Some(dir) = &args.models {
        config.model_dir = Some(dir.clone());
    }
    if args.all_words {
        config.words = word_files(&config.model_dir()).iter().map(|m| WordConfig::new(m)).collect();
        anyhow::ensure!(!config.words.is_empty(), "no word models in {}", config.model_dir().display());
    } else if !args.words.is_empty() {
        config.words = args.words.iter().map(|w| WordConfig::new(w)).collect();
    }
    let spec = config.detector_spec().map_err(|missing| {
        let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
        anyhow::anyhow!("missing wake word models: {} — run `{}`", list.join(", "), hearth_wake::config::PULL_COMMAND)
    })?;
    let mut detector = WakeDetector::new(&spec)?;
    let samples = read_as_microphone(&args.file)?;
    let scores = hearth_wake::clip::score_clip(&mut detector, &samples);
    println!("{}: {:.2} s", args.file.display(), scores.audio_ms as f64 / 1000.0);
    print!("{scores}");
    Ok(ExitCode::SUCCESS)
}

/// The file as the audio service hears a WAV microphone: downmixed and resampled to 16 kHz s16.
fn read_as_microphone(path: &Path) -> anyhow::Result<Vec<i16>> {
    let mut source = WavSource::open(path)?;
    let mut pipeline = MicPipeline::new(source.rate_hz(), source.channels())?;
    let mut frames: Vec<MicFrame> = Vec::new();
    let mut block = Vec::new();
    let mut read_frames = 0u64;
    loop {
        block.clear();
        let n = source.read(4096, &mut block).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        // Timestamps from the file's own clock (they only matter to keep the pipeline from re-anchoring).
        pipeline.push(&block, read_frames as f64 * 1000.0 / source.rate_hz() as f64, &mut frames)?;
        read_frames += n as u64;
    }
    pipeline.finish(&mut frames)?;
    Ok(frames.into_iter().flat_map(|f| f.samples).collect())
}

/// Word classifiers in `dir`: every `.onnx` but the two shared front-end models.
fn word_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".onnx") && n != "melspectrogram.onnx" && n != "embedding_model.onnx")
        .collect();
    names.sort();
    names
}
