//! The headline benchmark: whole voice turns through `hearth up`, each stage boundary timed from the bus
//! (end of speech detected, transcript, first sentence, first and last audio chunk), on the fast path
//! (a local intent, and the weather and Wikipedia answered by local stand-in servers) and through the language model.
//!
//! Compute is realistic without the real weights: whisper runs a model of tiny.en's exact shape that
//! always hears the request (so the brain can act on it), and the language model is a random-weight
//! model of Qwen3-4B's exact shape in Q4_K_M, whose reply is random text or a random tool call, cut at
//! `--llm-max-tokens`. Pass real models with `--whisper` and `--llm` to time those instead.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use hearth_e2e::speech::{silence, speak};
use hearth_e2e::turn::ms;
use hearth_e2e::{Rig, RigOptions, StageTimes, TurnReport, Voice};
use hearth_node::NodeFile;

#[derive(Args)]
pub struct E2eBenchArgs {
    /// Timed turns per path.
    #[arg(long, default_value_t = 3)]
    pub turns: usize,
    /// Folder with `openwakeword/` (front end and hey_jarvis) and `silero-vad/` (default: the configured
    /// models dir when it has them, else ../shared/models).
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// A whisper.cpp model to use for both paths instead of the generated tiny.en-shaped ones (it then has
    /// to understand the espeak-ng speech itself).
    #[arg(long)]
    pub whisper: Option<PathBuf>,
    /// The language model (default: the random-weight Qwen3-4B-shaped model `hearth bench llm` generates).
    #[arg(long)]
    pub llm: Option<PathBuf>,
    /// Longest reply from the language model, tokens (random weights rarely stop by themselves).
    #[arg(long, default_value_t = 32)]
    pub llm_max_tokens: u32,
    /// A Piper voice (.onnx with its .onnx.json) instead of the espeak-ng voice.
    #[arg(long)]
    pub voice: Option<PathBuf>,
    /// Only the fast path (no language model).
    #[arg(long)]
    pub fast_only: bool,
    /// Where generated models, config and state are kept between runs (the LLM's saved prefix makes
    /// later starts quick).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

const FAST: &str = "what time is it";
// Fast paths with a tool host: the rig's local stand-in servers answer, so the figures are Hearth's own
// time plus a loopback HTTP round trip.
const WEATHER: &str = "what's the weather in paris";
const WIKIPEDIA: &str = "tell me about paris";
// A request the local templates leave to the language model (the random-shape LLM answers anything).
const LLM: &str = "write me a poem about autumn";

pub async fn run(file: &NodeFile, args: E2eBenchArgs) -> anyhow::Result<ExitCode> {
    let work = args.work_dir.clone().unwrap_or_else(|| cache_dir().join("e2e-bench"));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let models = models_dir(file, args.models.clone())?;
    let hearth = std::env::current_exe()?;
    let voice = args.voice.clone().map_or(Voice::Espeak, Voice::Piper);
    let llm = match &args.llm {
        Some(p) => p.clone(),
        None => cache_dir().join("llm-bench/qwen3-4b-shape-random-Q4_K_M.gguf"),
    };
    if !args.fast_only {
        anyhow::ensure!(
            llm.is_file(),
            "{} is missing: run `hearth bench llm` once (it generates the random-weight Qwen3-4B-shaped model), \
             or pass --llm FILE.gguf, or --fast-only",
            llm.display()
        );
    }

    let mut paths = vec![
        ("fast path: local intent, no LLM", FAST, None),
        ("fast path: weather from the local Open-Meteo stand-in", WEATHER, None),
        ("fast path: Wikipedia from the local stand-in", WIKIPEDIA, None),
    ];
    if !args.fast_only {
        paths.push(("LLM path: Qwen3-4B shape, random weights", LLM, Some(llm)));
    }
    println!("hearth bench e2e: {} turns per path; times from the last sample of speech into the microphone", args.turns);
    for (title, phrase, llm) in paths {
        let dir = work.join(if llm.is_some() { "llm".to_owned() } else { format!("fast-{}", phrase.replace([' ', '\''], "-")) });
        std::fs::create_dir_all(&dir)?;
        let whisper = match &args.whisper {
            Some(w) => w.clone(),
            None => {
                let out = work.join(format!("whisper-tiny.en-shape-{}.bin", phrase.replace(' ', "-").replace('\'', "")));
                if !out.is_file() {
                    eprintln!("bench: generating a tiny.en-shaped whisper model that hears {phrase:?}");
                    hearth_e2e::phrase_whisper(phrase, "tiny.en", &out)?;
                }
                out
            }
        };
        let options = RigOptions {
            hearth: hearth.clone(),
            models: models.clone(),
            wake_word: "hey_jarvis_v0.1.onnx".into(),
            whisper,
            llm,
            voice: voice.clone(),
            noise: None,
            follow_up_ms: 0,
            // Every turn a first question: no conversation memory carried between them.
            overrides: format!("[brain]\nmemory_s = 0\n[llm]\nmax_tokens = {}\n", args.llm_max_tokens).parse()?,
            work_dir: dir.clone(),
            // The first start of the 2.5 GB model evaluates its prompt prefix cold (about a minute here).
            wait: Duration::from_secs(600),
        };
        eprintln!("bench: starting hearth up for the {title}");
        let mut rig = Rig::start(options).await?;
        rig.cut_playback = true;
        let request = speak(phrase, "en-us", &dir);
        let mut audio = speak("hey jarvis", "en-us", &dir);
        audio.extend(silence(0.4));
        audio.extend(request);
        let mut reports = Vec::new();
        // One untimed turn first: caches, page faults and the first allocation of every stage.
        for i in 0..=args.turns {
            let report = rig.wake_turn(audio.clone()).await?;
            eprintln!("bench: turn {i}: {report}");
            if i > 0 {
                reports.push(report);
            }
        }
        print_path(title, &reports);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_path(title: &str, reports: &[TurnReport]) {
    println!("\n{title}");
    if let Some(r) = reports.first() {
        let reply: String = r.reply.text.chars().take(80).collect();
        let more = if r.reply.text.chars().count() > 80 { "…" } else { "" };
        println!("  heard {:?}; replied {reply:?}{more} ({:?}) in {}", r.transcript, r.reply.source, r.voice);
    }
    println!("  {:<26} {:>9} {:>9} {:>9} {:>12}", "stage (ms after speech)", "median", "min", "max", "stage median");
    let columns: Vec<[Duration; 5]> = reports.iter().map(|r| r.times.as_array()).collect();
    let mut previous: Vec<Duration> = vec![Duration::ZERO; reports.len()];
    for (i, name) in StageTimes::NAMES.iter().enumerate() {
        let mut at: Vec<f64> = columns.iter().map(|c| ms(c[i])).collect();
        let mut step: Vec<f64> = columns.iter().zip(&previous).map(|(c, p)| ms(c[i].saturating_sub(*p))).collect();
        previous = columns.iter().map(|c| c[i]).collect();
        println!(
            "  {name:<26} {:>9.0} {:>9.0} {:>9.0} {:>12.0}",
            median(&mut at),
            at.first().copied().unwrap_or(0.0),
            at.last().copied().unwrap_or(0.0),
            median(&mut step)
        );
    }
    // Deciding between rooms: wake/heard to wake/detected (one room here, so the arbiter need not wait
    // out its window; with several rooms it waits at most `[arbiter] window_ms`).
    let mut arbitration: Vec<f64> = reports.iter().filter_map(|r| r.arbitration.map(ms)).collect();
    if arbitration.is_empty() {
        println!("  wake arbitration: no arbiter ran (no wake/heard on the bus)");
    } else {
        let n = arbitration.len();
        let med = median(&mut arbitration);
        let (min, max) = (arbitration[0], arbitration[n - 1]);
        println!("  {:<26} {med:>9.1} {min:>9.1} {max:>9.1}   (wake/heard → wake/detected, {n} turns)", "wake arbitration");
    }
}

/// Median of `v`, which it sorts.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub(super) fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("hearth")
}

pub(super) fn models_dir(file: &NodeFile, given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let has_models = |d: &Path| d.join("openwakeword/melspectrogram.onnx").is_file() && d.join("silero-vad/silero_vad.onnx").is_file();
    let candidates = match given {
        Some(d) => vec![d],
        None => vec![file.node.models_dir(), hearth_e2e::shared_dir().join("models")],
    };
    candidates.iter().find(|d| has_models(d)).cloned().with_context(|| {
        format!(
            "no openWakeWord and Silero VAD models in {}: run `hearth models pull openwakeword silero-vad` or pass --models",
            candidates.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" or ")
        )
    })
}
