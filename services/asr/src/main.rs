//! `hearth-asr`: the speech recognition process (whisper.cpp cannot share a binary with llama.cpp).
//! `hearth up` spawns `hearth-asr run --config F`; `hearth bench asr …` execs `hearth-asr bench …`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hearth_asr::bench::{bench_asr, BenchModel, BenchOptions};
use hearth_asr::AsrConfig;
use hearth_node::NodeFile;

#[derive(Parser)]
#[command(name = "hearth-asr", version, about = "Hearth speech recognition (whisper.cpp)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve speech recognition on the bus until SIGINT or SIGTERM.
    Run {
        /// Node config file (default: $HEARTH_CONFIG, ~/.config/hearth/hearth.toml, /etc/hearth/hearth.toml).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Time transcription by model, audio length, decoding and encoder context; prints a table.
    Bench {
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
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    hearth_node::logging::init();
    match cli.command {
        Command::Run { config } => {
            let file = NodeFile::load(config.as_deref()).context("loading the node config")?;
            let asr = AsrConfig::from_node_file(&file)?;
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(hearth_node::serve(&file, "asr", |bus, shutdown| hearth_asr::run(asr, bus, shutdown)))?;
        }
        Command::Bench { model, seconds, beams, repetitions, threads, tiny_only, audio, cache_dir } => {
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
        }
    }
    Ok(())
}
