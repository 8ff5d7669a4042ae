//! `hearth bench soak`: hours of listening through `hearth up` with random restarts (see
//! [`hearth_e2e::soak`]). Runs in real time: the microphone, the wake word and the endpointer all keep
//! the clock, so there is nothing to accelerate without changing what is measured.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use hearth_e2e::soak::{soak, SoakOptions, REQUEST};
use hearth_e2e::{RigOptions, Voice};
use hearth_node::NodeFile;

use super::e2e::{cache_dir, models_dir};

#[derive(Args)]
pub struct SoakBenchArgs {
    /// How long to listen (0.05 is three minutes).
    #[arg(long, default_value_t = 1.0)]
    pub hours: f64,
    /// Kill a random service this often, seconds (0: never).
    #[arg(long, default_value_t = 300)]
    pub kill_every_s: u64,
    /// Read every process's memory and CPU this often, seconds.
    #[arg(long, default_value_t = 10)]
    pub sample_every_s: u64,
    /// Folder with `openwakeword/` and `silero-vad/` (default: the configured models dir, else ../shared/models).
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// A whisper.cpp model (default: one of tiny.en's shape generated to hear the request).
    #[arg(long)]
    pub whisper: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where generated models, config and state go.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

pub async fn run(file: &NodeFile, args: SoakBenchArgs) -> anyhow::Result<ExitCode> {
    let work = args.work_dir.clone().unwrap_or_else(|| cache_dir().join("soak-bench"));
    std::fs::create_dir_all(&work)?;
    let whisper = match args.whisper {
        Some(w) => w,
        None => {
            let out = work.join("whisper-tiny.en-shape-what-time-is-it.bin");
            if !out.is_file() {
                eprintln!("soak: generating a tiny.en-shaped whisper model that hears {REQUEST:?}");
                hearth_e2e::phrase_whisper(REQUEST, "tiny.en", &out)?;
            }
            out
        }
    };
    let rig = RigOptions {
        hearth: std::env::current_exe()?,
        models: models_dir(file, args.models)?,
        wake_word: "hey_jarvis_v0.1.onnx".into(),
        whisper,
        llm: None,
        voice: Voice::Espeak,
        noise: None,
        follow_up_ms: 0,
        overrides: "[brain]\nmemory_s = 0\n".parse()?,
        work_dir: work,
        wait: Duration::from_secs(120),
    };
    let options = SoakOptions {
        rig,
        duration: Duration::from_secs_f64(args.hours * 3600.0),
        kill_every: (args.kill_every_s > 0).then(|| Duration::from_secs(args.kill_every_s)),
        sample_every: Duration::from_secs(args.sample_every_s.max(1)),
        seed: args.seed,
    };
    let report = soak(options).await?;
    print!("{report}");
    let problems = report.problems();
    if problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("soak: {}", problems.join("; "));
        Ok(ExitCode::FAILURE)
    }
}
