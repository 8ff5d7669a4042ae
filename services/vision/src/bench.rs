//! `hearth-vision bench`: what one "what do you see?" costs, with image splitting off and on. By default on a
//! generated random-weight model of SmolVLM-256M-Instruct's exact shape (weights do not change the cost of a
//! token), so the figures are realistic without the real model; `--model`/`--mmproj` measure real files.
//!
//! Time to first sentence is measured as the time to the `tokens`-th generated token (default 12, a short spoken
//! sentence): random weights rarely write a full stop, and a real model's first sentence is about that long.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image::RgbImage;
use serde::Serialize;

use crate::config::VisionConfig;
use crate::engine::{Engine, VisionModel};
use crate::{picture, VisionError};

pub const BENCH_MODEL_FILE: &str = "smolvlm-256m-shape.gguf";
pub const BENCH_MMPROJ_FILE: &str = "mmproj-smolvlm-256m-shape.gguf";

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Language model and projector to measure; `None`: the generated SmolVLM-256M-shaped pair.
    pub model: Option<(PathBuf, PathBuf)>,
    /// A picture to describe; `None`: a generated 640×480 frame (a typical webcam picture).
    pub image: Option<PathBuf>,
    /// Where the generated pair is kept between runs.
    pub cache_dir: PathBuf,
    /// The generator script and the Python that runs it.
    pub script: PathBuf,
    pub python: String,
    /// Engine settings (threads; `max_tokens` = tokens generated per answer).
    pub config: VisionConfig,
}

impl BenchOptions {
    /// Defaults: `$XDG_CACHE_HOME/hearth/vision-bench` (else `~/.cache/…`), the script in this source tree,
    /// `$HEARTH_PYTHON` (else `python3`), 12 generated tokens.
    pub fn new() -> Self {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        BenchOptions {
            model: None,
            image: None,
            // Bumped when make_vlm.py changes what it writes: a model cached by an older generator is not reused
            // (2: position embeddings in f32, which ggml's CPU add needs).
            cache_dir: cache.join("hearth").join("vision-bench-2"),
            script: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vision/make_vlm.py")),
            python: std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into()),
            config: VisionConfig { max_tokens: 12, ..VisionConfig::default() },
        }
    }
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// One setting's figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRun {
    pub image_splitting: bool,
    /// Loading the projector, milliseconds.
    pub mmproj_load_ms: u64,
    /// The warm-up answer at start, milliseconds.
    pub warm_up_ms: u64,
    pub image_tokens: usize,
    /// Encoding the picture alone (vision tower and projector), milliseconds.
    pub encode_ms: u64,
    /// Encoding plus evaluating every prompt token in the language model, milliseconds.
    pub prompt_ms: u64,
    pub generated_tokens: u32,
    pub generate_tokens_per_s: f64,
    /// From the picture to the `tokens`-th generated token, milliseconds.
    pub first_sentence_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub model: String,
    pub mmproj: String,
    pub model_bytes: u64,
    pub mmproj_bytes: u64,
    /// The pair was generated for this run (not counted in any figure).
    pub generated_ms: Option<u64>,
    pub image: String,
    pub threads: i32,
    /// Loading the language model into RAM, milliseconds.
    pub load_ms: u64,
    pub off: BenchRun,
    pub on: BenchRun,
    /// Image tokens with splitting on divided by off.
    pub image_token_ratio: f64,
    /// Time to first sentence with splitting on divided by off.
    pub first_sentence_ratio: f64,
}

/// Runs the benchmark, reporting progress through `step`.
pub fn bench_vision(options: &BenchOptions, mut step: impl FnMut(&str)) -> Result<BenchReport, VisionError> {
    let mut generated_ms = None;
    let (model_path, mmproj_path) = match &options.model {
        Some(pair) => pair.clone(),
        None => {
            let model = options.cache_dir.join(BENCH_MODEL_FILE);
            let mmproj = options.cache_dir.join(BENCH_MMPROJ_FILE);
            if !model.is_file() || !mmproj.is_file() {
                step(&format!("generating a SmolVLM-256M-shaped model in {}", options.cache_dir.display()));
                generated_ms = Some(generate(options)?);
            }
            (model, mmproj)
        }
    };
    let image = match &options.image {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| VisionError::Load { path: path.clone(), why: e.to_string() })?;
            picture::decode(&bytes, u64::MAX)?
        }
        None => test_frame(640, 480),
    };
    step("loading the language model");
    let model = VisionModel::load(&model_path, &mmproj_path)?;
    let mut runs = Vec::new();
    for splitting in [false, true] {
        step(&format!("image splitting {}", if splitting { "on" } else { "off" }));
        let config = VisionConfig { image_splitting: splitting, ..options.config.clone() };
        let mut engine = Engine::new(&model, &config)?;
        let warm_up_ms = engine.warm_up()?;
        let (_, encode_ms) = engine.encode_only(&image)?;
        let start = Instant::now();
        let stats = engine.describe(&image, None, |_| {})?;
        let first_sentence_ms = start.elapsed().as_millis() as u64;
        runs.push(BenchRun {
            image_splitting: splitting,
            mmproj_load_ms: engine.mmproj_load_ms,
            warm_up_ms,
            image_tokens: stats.image_tokens,
            encode_ms,
            prompt_ms: stats.prompt_ms,
            generated_tokens: stats.generated_tokens,
            generate_tokens_per_s: per_second(stats.generated_tokens, stats.generate_ms),
            first_sentence_ms,
        });
    }
    let on = runs.pop().expect("two runs");
    let off = runs.pop().expect("two runs");
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    Ok(BenchReport {
        model: model_path.display().to_string(),
        mmproj: mmproj_path.display().to_string(),
        model_bytes: size(&model_path),
        mmproj_bytes: size(&mmproj_path),
        generated_ms,
        image: options.image.as_ref().map_or_else(|| "generated 640×480 frame".to_string(), |p| p.display().to_string()),
        threads: options.config.thread_count(),
        load_ms: model.load_ms,
        image_token_ratio: on.image_tokens as f64 / off.image_tokens.max(1) as f64,
        first_sentence_ratio: on.first_sentence_ms as f64 / off.first_sentence_ms.max(1) as f64,
        off,
        on,
    })
}

fn per_second(count: u32, ms: u64) -> f64 {
    if ms == 0 {
        0.0
    } else {
        count as f64 * 1000.0 / ms as f64
    }
}

/// A synthetic room-like frame: a gradient wall, a floor, a window and a table, so the encoder sees structure.
pub fn test_frame(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let pixel = if (0.6..0.85).contains(&fx) && (0.15..0.45).contains(&fy) {
            [170, 210, 250] // window
        } else if (0.2..0.5).contains(&fx) && (0.55..0.62).contains(&fy) {
            [120, 80, 40] // table top
        } else if fy > 0.7 {
            [(90.0 + 40.0 * fx) as u8, 70, 50] // floor
        } else {
            [(200.0 - 60.0 * fy) as u8, (190.0 - 50.0 * fy) as u8, 170] // wall
        };
        image::Rgb(pixel)
    })
}

fn generate(options: &BenchOptions) -> Result<u64, VisionError> {
    let start = Instant::now();
    let fail = |why: String| VisionError::Load { path: options.cache_dir.clone(), why };
    std::fs::create_dir_all(&options.cache_dir).map_err(|e| fail(e.to_string()))?;
    let status = Command::new(&options.python)
        .arg(&options.script)
        .arg("bench")
        .arg(&options.cache_dir)
        .status()
        .map_err(|e| fail(format!("cannot run {} {}: {e}", options.python, options.script.display())))?;
    if !status.success() {
        return Err(fail(format!("{} {} bench failed ({status}); it needs `pip install gguf numpy`", options.python, options.script.display())));
    }
    Ok(start.elapsed().as_millis() as u64)
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model            {} ({:.0} MB)", self.model, self.model_bytes as f64 / 1e6)?;
        writeln!(f, "projector        {} ({:.0} MB)", self.mmproj, self.mmproj_bytes as f64 / 1e6)?;
        if let Some(ms) = self.generated_ms {
            writeln!(f, "                 generated in {:.1} s for this run", ms as f64 / 1000.0)?;
        }
        writeln!(f, "picture          {}", self.image)?;
        writeln!(f, "threads          {}", self.threads)?;
        writeln!(f, "load             {} ms (language model, into RAM)", self.load_ms)?;
        writeln!(f, "{:<24}{:>12}{:>12}", "image splitting", "off", "on")?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, off: String, on: String| writeln!(f, "{name:<24}{off:>12}{on:>12}");
        row(f, "projector load ms", self.off.mmproj_load_ms.to_string(), self.on.mmproj_load_ms.to_string())?;
        row(f, "warm-up ms", self.off.warm_up_ms.to_string(), self.on.warm_up_ms.to_string())?;
        row(f, "image tokens", self.off.image_tokens.to_string(), self.on.image_tokens.to_string())?;
        row(f, "encode ms", self.off.encode_ms.to_string(), self.on.encode_ms.to_string())?;
        row(f, "prompt ms (encode+eval)", self.off.prompt_ms.to_string(), self.on.prompt_ms.to_string())?;
        row(f, "generation tok/s", format!("{:.1}", self.off.generate_tokens_per_s), format!("{:.1}", self.on.generate_tokens_per_s))?;
        row(
            f,
            &format!("first sentence ms ({} tok)", self.off.generated_tokens),
            self.off.first_sentence_ms.to_string(),
            self.on.first_sentence_ms.to_string(),
        )?;
        writeln!(f, "on/off           image tokens ×{:.1}, time to first sentence ×{:.1}", self.image_token_ratio, self.first_sentence_ratio)
    }
}
