//! `hearth-asr`: the speech recognition process (whisper.cpp cannot share a binary with llama.cpp).
//! `hearth up` spawns `hearth-asr run --config F`; `hearth bench asr …`, `hearth transcribe …` and
//! `hearth eval asr …` exec `hearth-asr bench …`, `hearth-asr transcribe …` and `hearth-asr eval …`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hearth_asr::bench::{bench_asr, BenchModel, BenchOptions};
use hearth_asr::engine::{DecodeOptions, Recognizer};
use hearth_asr::filter::Heard;
use hearth_asr::reference::{bench_reference, jfk_clips, ReferenceOptions};
use hearth_asr::AsrConfig;
use hearth_node::NodeFile;

#[derive(Parser)]
#[command(name = "hearth-asr", version, about = "Hearth speech recognition (whisper.cpp)")]
struct Cli {
    /// Node config file (default: $HEARTH_CONFIG, ~/.config/hearth/hearth.toml, /etc/hearth/hearth.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// How to decode, defaulting to the `[asr]` table of the config (what the service does).
#[derive(Args)]
struct Decoding {
    /// whisper.cpp model file (default: the configured one).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Beam size (1 = greedy; default: the configured one).
    #[arg(long)]
    beam: Option<u32>,
    /// Encode the full 30 s window instead of a context scaled to the audio's length.
    #[arg(long)]
    full_context: bool,
    /// Smallest scaled encoder context, in frames (50 per second).
    #[arg(long)]
    audio_ctx_floor: Option<u32>,
    /// CPU threads (default: the configured count, else min(4, cores)).
    #[arg(long)]
    threads: Option<u32>,
    /// Decode with timestamps, in segments (whisper's default mode; the service decodes without).
    #[arg(long)]
    timestamps: bool,
}

impl Decoding {
    fn load(&self, file: &NodeFile) -> anyhow::Result<Recognizer> {
        let asr = AsrConfig::from_node_file(file)?;
        let path = self.model.clone().unwrap_or_else(|| asr.model_path(&file.node.models_dir()));
        let options = DecodeOptions {
            language: asr.language.trim().to_string(),
            threads: self.threads.unwrap_or_else(|| asr.threads()),
            beam_size: self.beam.unwrap_or(asr.beam_size),
            scale_audio_ctx: asr.scale_audio_ctx && !self.full_context,
            audio_ctx_floor: self.audio_ctx_floor.unwrap_or(asr.audio_ctx_floor),
            temperature_fallback: asr.temperature_fallback,
            max_tokens: 0,
            timestamps: self.timestamps,
        };
        Ok(Recognizer::load(&path, hearth_asr::config::DEFAULT_MODEL_NAME, options)?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve speech recognition on the bus until SIGINT or SIGTERM.
    Run,
    /// Transcribe WAV files (any rate and channel count) with the service's engine and filter.
    Transcribe {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also print audio length, processing time, real-time factor, encoder context and raw text.
        #[arg(long, short)]
        verbose: bool,
        #[command(flatten)]
        decoding: Decoding,
    },
    /// Word error rate and real-time factor over a manifest: one `FILE.wav<TAB>reference text` per line.
    Eval {
        manifest: PathBuf,
        #[command(flatten)]
        decoding: Decoding,
    },
    /// Time transcription by model, audio length, decoding and encoder context; prints a table.
    Bench(BenchArgs),
}

#[derive(Args)]
struct BenchArgs {
    /// Time this model file instead of random-weight tiny.en and base.en shapes (repeatable).
    #[arg(long)]
    model: Vec<PathBuf>,
    /// Audio lengths in seconds, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2,5,10")]
    seconds: Vec<f32>,
    /// Beam sizes to compare, comma-separated (1 = greedy).
    #[arg(long, value_delimiter = ',', default_value = "1,5")]
    beams: Vec<u32>,
    /// Timed runs per case.
    #[arg(long, default_value_t = 2)]
    repetitions: u32,
    /// CPU threads (default min(4, cores)).
    #[arg(long)]
    threads: Option<u32>,
    /// Only the tiny.en shapes (skip base.en) when no --model is given.
    #[arg(long)]
    tiny_only: bool,
    /// A WAV file to cut the utterances from (default: synthetic audio).
    #[arg(long)]
    audio: Option<PathBuf>,
    /// Where random-weight models are generated (default ~/.cache/hearth/asr-bench).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Hearth beside faster-whisper on the same tiny.en weights and the same clips of real speech
    /// (../shared/audio/jfk.wav cut to about 2, 5 and 10 s).
    #[arg(long)]
    reference: bool,
    /// With --reference: the real models' folder (default $HEARTH_REAL_MODELS or
    /// ~/.cache/hearth/real-models, as scripts/fetch-real-models.sh leaves it).
    #[arg(long)]
    real_models: Option<PathBuf>,
    /// With --reference: a Python with faster-whisper (default $HEARTH_FASTER_WHISPER_PYTHON, else python3).
    #[arg(long)]
    python: Option<String>,
    /// With --reference: faster-whisper compute types, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "int8,float32")]
    compute_types: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let quiet = !matches!(cli.command, Command::Run);
    hearth_node::logging::init_with(if quiet { "warn" } else { "info" });
    let file = NodeFile::load(cli.config.as_deref()).context("loading the node config")?;
    match cli.command {
        Command::Run => {
            let asr = AsrConfig::from_node_file(&file)?;
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(hearth_node::serve(&file, "asr", |bus, shutdown| hearth_asr::run(asr, bus, shutdown)))?;
        }
        Command::Transcribe { files, verbose, decoding } => transcribe(&file, &files, verbose, &decoding)?,
        Command::Eval { manifest, decoding } => {
            let clips = hearth_asr::eval::read_manifest(&manifest)?;
            let mut engine = decoding.load(&file)?;
            let report = hearth_asr::eval::evaluate(&mut engine, &clips)?;
            println!("{report}");
        }
        Command::Bench(args) if args.reference => reference(args)?,
        Command::Bench(args) => bench(args)?,
    }
    Ok(())
}

fn transcribe(file: &NodeFile, files: &[PathBuf], verbose: bool, decoding: &Decoding) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut engine = decoding.load(file)?;
    if verbose {
        println!("model {} loaded in {} ms", engine.path().display(), started.elapsed().as_millis());
    }
    for path in files {
        let t = hearth_asr::files::transcribe_file(&mut engine, path)?;
        let text = match &t.heard {
            Heard::Speech(text) => text.clone(),
            Heard::Empty => "(nothing heard)".into(),
            Heard::NonSpeech(raw) => format!("(only non-speech: {raw})"),
        };
        if files.len() > 1 {
            println!("{}: {text}", path.display());
        } else {
            println!("{text}");
        }
        if verbose {
            println!(
                "  audio {:.2} s, processing {} ms, real-time factor {:.3}, audio_ctx {}, {} tokens, raw {:?}",
                t.audio_ms as f64 / 1000.0,
                t.processing_ms,
                t.real_time_factor(),
                t.audio_ctx,
                t.tokens,
                t.raw
            );
            if t.segments.len() > 1 || decoding.timestamps {
                for s in &t.segments {
                    println!("  [{:>7.2} → {:>7.2} s]{}", s.start_ms as f64 / 1000.0, s.end_ms as f64 / 1000.0, s.text);
                }
            }
        }
    }
    Ok(())
}

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let BenchArgs { model, seconds, beams, repetitions, threads, tiny_only, audio, cache_dir, .. } = args;
    let mut options = BenchOptions { durations_s: seconds, beams, repetitions, audio, ..BenchOptions::default() };
    if !model.is_empty() {
        options.models = model.into_iter().map(BenchModel::File).collect();
    } else if tiny_only {
        options.models = vec![BenchModel::tiny_en()];
    }
    if let Some(t) = threads {
        options.threads = t;
    }
    if let Some(dir) = cache_dir {
        options.cache_dir = dir;
    }
    anyhow::ensure!(options.durations_s.iter().all(|s| *s > 0.0 && *s <= 30.0), "--seconds must be 0 to 30");
    anyhow::ensure!(options.beams.iter().all(|b| (1..=16).contains(b)), "--beams must be 1 to 16");
    let report = bench_asr(&options)?;
    println!("{report}");
    Ok(())
}

fn reference(args: BenchArgs) -> anyhow::Result<()> {
    let real = args.real_models.unwrap_or_else(hearth_asr::reference::default_real_models_dir);
    let model = args.model.first().cloned().unwrap_or_else(|| real.join("whisper/ggml-tiny.en.bin"));
    let ct2_dir = real.join("whisper/faster-whisper-tiny.en");
    for needed in [&model, &ct2_dir] {
        anyhow::ensure!(needed.exists(), "{} is missing: run scripts/fetch-real-models.sh", needed.display());
    }
    let jfk = args.audio.unwrap_or_else(|| shared_dir().join("audio/jfk.wav"));
    let python = args
        .python
        .or_else(|| std::env::var("HEARTH_FASTER_WHISPER_PYTHON").ok())
        .unwrap_or_else(|| "python3".into());
    let options = ReferenceOptions {
        model,
        ct2_dir,
        python,
        clips: jfk_clips(&jfk)?,
        compute_types: args.compute_types,
        repetitions: args.repetitions.max(1),
        threads: args.threads.unwrap_or_else(|| AsrConfig::default().threads()),
    };
    println!("{}", bench_reference(&options)?);
    Ok(())
}

/// `$HEARTH_SHARED`, else `../shared` beside the source tree.
fn shared_dir() -> PathBuf {
    std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}
