//! `hearth bench …`: speed figures live here, never in timed tests.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use hearth_node::NodeFile;

use super::sibling::{self, Passthrough};

mod bus;
mod e2e;
mod soak;
mod music;

#[derive(Subcommand)]
pub enum BenchWhat {
    /// Publish→deliver latency and throughput of 20 ms audio frames: embedded broker vs mosquitto.
    Bus(bus::BusBenchArgs),
    /// Wake word (one and three words) and voice activity: CPU seconds per second of audio, beside
    /// Python openwakeword on the same audio.
    Wake(WakeBenchArgs),
    /// Text to speech: real-time factor and time to first audio, beside Python piper-tts.
    Tts {
        /// A Piper voice: a `.onnx` path, a name or part of one (`joe`) found in the models directory's
        /// `piper/` or in `$HEARTH_CACHE/real-models/piper`; default: the project's fixture voice.
        #[arg(long)]
        voice: Option<String>,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// espeak-ng data to phonemize with (the folder holding `espeak-ng-data`), e.g. piper-tts's own.
        #[arg(long)]
        espeak_data: Option<std::path::PathBuf>,
    },
    /// Speech recognition (runs `hearth-asr bench`).
    Asr(Passthrough),
    /// Language model (runs `hearth-llm bench`).
    Llm(Passthrough),
    /// Vision: image tokens, encode time and time to first sentence with splitting off and on (runs
    /// `hearth-vision bench`).
    Vision(Passthrough),
    /// Whole voice turns through `hearth up`: every stage boundary timed from the bus, on the fast path
    /// and through the language model, with models of the real shapes.
    E2e(e2e::E2eBenchArgs),
    /// Hours of listening through `hearth up` (silence, noise, music, chatter, wake words) with random
    /// service restarts: memory slope, CPU and descriptors per process, lost frames, latency drift.
    Soak(soak::SoakBenchArgs),
    /// Local intent templates: matching cost per utterance over the eval set.
    Intents(super::intents::BenchArgs),
    /// Music: library index time per 1000 files, decode CPU per hour of audio per format, and the
    /// speaker mixer's CPU per second (files made with ffmpeg).
    Music(music::MusicBenchArgs),
}

#[derive(Args)]
pub struct WakeBenchArgs {
    /// Folder with `openwakeword/` and `silero-vad/` (default: the configured models dir).
    #[arg(long)]
    pub models: Option<std::path::PathBuf>,
    /// A 16 kHz mono WAV, repeated to `--seconds` (default: ../shared/audio/jfk.wav).
    #[arg(long)]
    pub audio: Option<std::path::PathBuf>,
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Python with `openwakeword` for the reference column (default $HEARTH_PYTHON or python3); `none` skips it.
    #[arg(long)]
    pub python: Option<String>,
}

pub async fn run(file: &NodeFile, what: BenchWhat) -> anyhow::Result<ExitCode> {
    match what {
        BenchWhat::Bus(args) => bus::run(args).await,
        BenchWhat::Wake(args) => wake(file, args),
        BenchWhat::Tts { voice, runs, espeak_data } => {
            let dirs = [file.node.models_dir().join("piper"), hearth_tts::voices::real_models_piper_dir()];
            let voice = voice.map(|v| hearth_tts::voices::find_voice(&v, &dirs)).transpose()?;
            let options = hearth_tts::bench::BenchOptions { voice, runs, espeak_data, ..Default::default() };
            print!("{}", hearth_tts::bench::bench_tts(&options)?);
            Ok(ExitCode::SUCCESS)
        }
        BenchWhat::Asr(p) => sibling::exec(file, "hearth-asr", &["bench"], p.args),
        BenchWhat::Llm(p) => sibling::exec(file, "hearth-llm", &["bench"], p.args),
        BenchWhat::Vision(p) => sibling::exec(file, "hearth-vision", &["bench"], p.args),
        BenchWhat::E2e(args) => e2e::run(file, args).await,
        BenchWhat::Soak(args) => soak::run(file, args).await,
        BenchWhat::Intents(args) => super::intents::bench(args),
        BenchWhat::Music(args) => music::run(args),
    }
}

fn wake(file: &NodeFile, args: WakeBenchArgs) -> anyhow::Result<ExitCode> {
    let shared = std::env::var_os("HEARTH_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    let models = args.models.unwrap_or_else(|| file.node.models_dir());
    let oww_dir = models.join("openwakeword");
    let words = ["hey_jarvis_v0.1.onnx", "alexa_v0.1.onnx", "hey_mycroft_v0.1.onnx"].iter().map(|w| oww_dir.join(w)).collect();
    let python = match args.python.as_deref() {
        Some("none") => None,
        Some(p) => Some(p.to_string()),
        None => Some(std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into())),
    };
    let options = hearth_listen::bench::BenchOptions {
        oww_dir,
        words,
        vad_model: models.join("silero-vad/silero_vad.onnx"),
        onnxruntime: hearth_wake::onnx::library_path(None, &file.node.data_dir),
        audio: args.audio.unwrap_or_else(|| shared.join("audio/jfk.wav")),
        seconds: args.seconds,
        python,
        reference_script: std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/wake/oww_reference.py")),
    };
    let report = hearth_listen::bench::bench_wake(&options)?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
