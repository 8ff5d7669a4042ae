//! `hearth bench …`: speed figures live here, never in timed tests.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use hearth_node::NodeFile;

mod bus;

#[derive(Subcommand)]
pub enum BenchWhat {
    /// Publish→deliver latency and throughput of 20 ms audio frames: embedded broker vs mosquitto.
    Bus(bus::BusBenchArgs),
    /// Wake word (one and three words) and voice activity: CPU seconds per second of audio, beside
    /// Python openwakeword on the same audio.
    Wake(WakeBenchArgs),
    /// Text to speech: real-time factor and time to first audio, beside Python piper-tts.
    Tts {
        /// A Piper voice (.onnx with its .onnx.json); default: the project's fixture voice.
        #[arg(long)]
        voice: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Speech recognition (runs `hearth-asr bench`).
    Asr(Passthrough),
    /// Language model (runs `hearth-llm bench`).
    Llm(Passthrough),
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

/// Arguments handed to another program as they are.
#[derive(Args)]
pub struct Passthrough {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub async fn run(file: &NodeFile, what: BenchWhat) -> anyhow::Result<ExitCode> {
    match what {
        BenchWhat::Bus(args) => bus::run(args).await,
        BenchWhat::Wake(args) => wake(file, args),
        BenchWhat::Tts { voice, runs } => {
            let options = hearth_tts::bench::BenchOptions { voice, runs, ..Default::default() };
            print!("{}", hearth_tts::bench::bench_tts(&options)?);
            Ok(ExitCode::SUCCESS)
        }
        BenchWhat::Asr(p) => exec_sibling(file, "hearth-asr", p.args),
        BenchWhat::Llm(p) => exec_sibling(file, "hearth-llm", p.args),
    }
}

/// Runs `<binary> bench ARGS…` from beside this executable and returns its exit status.
fn exec_sibling(file: &NodeFile, binary: &str, args: Vec<String>) -> anyhow::Result<ExitCode> {
    let program = std::env::current_exe()?.with_file_name(binary);
    anyhow::ensure!(
        program.is_file(),
        "{binary} is not installed next to hearth ({}); build it with `cargo build --release -p {binary}`",
        program.display()
    );
    let mut cmd = std::process::Command::new(&program);
    cmd.arg("bench");
    if let Some(path) = &file.path {
        cmd.arg("--config").arg(path);
    }
    let status = cmd.args(args).status()?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
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
