//! `hearth-llm bench`: speed of the engine as the service runs it, on the user's model or on a random-weight
//! model of Qwen3-4B's exact shape in Q4_K_M (generated on demand into a cache directory by
//! `fixtures/llm/make_gguf.py`: same tensor sizes and quantisation types, so the same arithmetic).
//!
//! Reported: model load; the cold prefix (evaluated) against the saved one (restored); prompt and generation
//! tokens per second; tokens evaluated by a first turn and by a follow-up (which should be just the new
//! turn); time to the first sentence or tool call.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_bus::llm::{ChatMessage, Role};
use hearth_bus::tool::catalog;
use serde::Serialize;

use crate::engine::{Engine, LlmModel, Output, StartupStats, TurnStats};
use crate::prompt;
use crate::{LlmConfig, LlmError};

/// File name of the generated benchmark model.
pub const BENCH_MODEL_FILE: &str = "qwen3-4b-shape-random-Q4_K_M.gguf";

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Model to measure; `None`: the generated Qwen3-4B-shaped one.
    pub model: Option<PathBuf>,
    /// Where the generated model is kept between runs.
    pub cache_dir: PathBuf,
    /// The generator script and the Python that runs it.
    pub script: PathBuf,
    pub python: String,
    /// Engine settings (threads, context, `max_tokens` = tokens generated per turn).
    pub config: LlmConfig,
}

impl BenchOptions {
    /// Defaults: `$XDG_CACHE_HOME/hearth/llm-bench` (else `~/.cache/…`), the script in this source tree,
    /// `$HEARTH_PYTHON` (else `python3`), 16 generated tokens per turn.
    pub fn new(model: Option<PathBuf>) -> Self {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        BenchOptions {
            model,
            cache_dir: cache.join("hearth").join("llm-bench"),
            script: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/llm/make_gguf.py")),
            python: std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into()),
            config: LlmConfig { max_tokens: 16, ..LlmConfig::default() },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub model: String,
    pub model_bytes: u64,
    /// The model was generated for this run (not counted in any figure).
    pub generated_ms: Option<u64>,
    pub threads: i32,
    pub load_ms: u64,
    pub prefix_tokens: u32,
    /// Prefix evaluated from scratch, milliseconds.
    pub cold_prefix_ms: u64,
    /// Prefix restored from the saved state, milliseconds.
    pub restored_prefix_ms: u64,
    pub restored: bool,
    pub first_turn: TurnFigures,
    pub follow_up: TurnFigures,
}

#[derive(Debug, Clone, Serialize)]
pub struct TurnFigures {
    pub user: String,
    pub evaluated_tokens: u32,
    pub reused_tokens: u32,
    pub prompt_ms: u64,
    pub generated_tokens: u32,
    pub generate_ms: u64,
    pub first_output_ms: Option<u64>,
    pub first_output: Option<String>,
}

impl TurnFigures {
    fn new(user: &str, stats: &TurnStats, first: Option<String>) -> Self {
        TurnFigures {
            user: user.into(),
            evaluated_tokens: stats.prompt_tokens,
            reused_tokens: stats.reused_tokens,
            prompt_ms: stats.prompt_ms,
            generated_tokens: stats.generated_tokens,
            generate_ms: stats.generate_ms,
            first_output_ms: stats.first_output_ms,
            first_output: first,
        }
    }
}

impl BenchReport {
    /// Prompt evaluation speed on the cold prefix, tokens per second.
    pub fn prompt_tokens_per_s(&self) -> f64 {
        rate(self.prefix_tokens as u64, self.cold_prefix_ms)
    }

    /// Generation speed over both turns, tokens per second.
    pub fn generation_tokens_per_s(&self) -> f64 {
        rate(
            (self.first_turn.generated_tokens + self.follow_up.generated_tokens) as u64,
            self.first_turn.generate_ms + self.follow_up.generate_ms,
        )
    }
}

fn rate(tokens: u64, ms: u64) -> f64 {
    if ms == 0 {
        0.0
    } else {
        tokens as f64 * 1000.0 / ms as f64
    }
}

/// Runs the benchmark; `progress` hears what is happening (generation and loading take a while).
pub fn bench_llm(options: &BenchOptions, mut progress: impl FnMut(&str)) -> Result<BenchReport, LlmError> {
    let (path, generated_ms) = match &options.model {
        Some(p) => (p.clone(), None),
        None => {
            let path = options.cache_dir.join(BENCH_MODEL_FILE);
            if path.is_file() {
                (path, None)
            } else {
                progress(&format!("generating {} (about 2.5 GB, once)", path.display()));
                let ms = generate_bench_model(options, &path)?;
                (path, Some(ms))
            }
        }
    };
    let model_bytes = std::fs::metadata(&path).map(|m| m.len()).map_err(|_| LlmError::MissingModel { path: path.clone() })?;
    progress(&format!("loading {}", path.display()));
    let model = LlmModel::load(&path)?;
    let state_dir = tempfile_dir()?;

    progress("cold prefix (no saved state)");
    let cold = Engine::new(&model, &options.config, catalog(), Some(state_dir.as_path()))?.startup.clone();
    progress("restarting with the saved prefix state");
    let mut engine = Engine::new(&model, &options.config, catalog(), Some(state_dir.as_path()))?;
    let warm: StartupStats = engine.startup.clone();

    let first_user = FIRST_USER;
    progress("first turn");
    let mut messages = vec![ChatMessage { role: Role::User, content: first_user.into() }];
    let (stats1, said1) = turn(&mut engine, &messages)?;
    // What the brain would record: the spoken reply (a random-weight model's own text is no sensible reply).
    messages.push(ChatMessage { role: Role::Assistant, content: ASSISTANT_REPLY.into() });
    let follow_user = FOLLOW_USER;
    messages.push(ChatMessage { role: Role::User, content: follow_user.into() });
    progress("follow-up turn");
    let (stats2, said2) = turn(&mut engine, &messages)?;
    let _ = std::fs::remove_dir_all(&state_dir);

    Ok(BenchReport {
        model: path.display().to_string(),
        model_bytes,
        generated_ms,
        threads: options.config.thread_count(),
        load_ms: model.load_ms,
        prefix_tokens: cold.prefix_tokens,
        cold_prefix_ms: cold.prefix_ms,
        restored_prefix_ms: warm.prefix_ms,
        restored: warm.restored,
        first_turn: TurnFigures::new(first_user, &stats1, said1),
        follow_up: TurnFigures::new(follow_user, &stats2, said2),
    })
}

/// One turn; returns its figures and what it said (a sentence, or the call written out).
fn turn(engine: &mut Engine<'_>, messages: &[ChatMessage]) -> Result<(TurnStats, Option<String>), LlmError> {
    let mut first = None;
    let stats = engine.respond(messages, |o| {
        if first.is_none() {
            first = Some(match o {
                Output::Sentence(s) => s,
                Output::ToolCall(c) => format!("{} {}", c.tool, c.arguments),
            });
        }
    })?;
    Ok((stats, first))
}

/// The user messages of the two benchmark turns.
const FIRST_USER: &str = "What's the weather like in Paris tomorrow?";
const FOLLOW_USER: &str = "And in Berlin?";
const ASSISTANT_REPLY: &str = "Tomorrow in Paris it will be sunny and mild.";

fn generate_bench_model(options: &BenchOptions, path: &Path) -> Result<u64, LlmError> {
    let start = std::time::Instant::now();
    // The generator gives the vocabulary a token for each word of the prompt, as a real tokenizer would have.
    let system_prompt = options.config.system_prompt.as_deref().unwrap_or(prompt::SYSTEM_PROMPT);
    let (_, qwen3) = prompt::built_in_template("qwen3").expect("qwen3 is built in");
    let chat = prompt::ChatPrompt::new(prompt::PromptSpec {
        template: qwen3,
        engine: prompt::TemplateEngine::Jinja,
        origin: "Hearth's built-in qwen3 template".into(),
        tool_format: options.config.tool_format,
        system_prompt,
        tools: catalog(),
        special: prompt::SpecialTokens { bos: String::new(), eos: "<|im_end|>".into() },
        now: chrono::Local::now().fixed_offset(),
    })?;
    let text = format!("{}{FIRST_USER}\n{FOLLOW_USER}\n{ASSISTANT_REPLY}\n", chat.prefix_text());
    let text_file = path.with_extension("prompt.txt");
    std::fs::create_dir_all(&options.cache_dir)
        .and_then(|()| std::fs::write(&text_file, text))
        .map_err(|e| LlmError::Load { path: path.into(), why: format!("cannot write {}: {e}", text_file.display()) })?;
    let status = Command::new(&options.python)
        .arg(&options.script)
        .arg("bench")
        .arg(path)
        .arg(&text_file)
        .status()
        .map_err(|e| LlmError::Load { path: path.into(), why: format!("cannot run {} {}: {e}", options.python, options.script.display()) })?;
    if !status.success() {
        return Err(LlmError::Load {
            path: path.into(),
            why: format!("{} {} bench failed ({status}); it needs `pip install gguf numpy`", options.python, options.script.display()),
        });
    }
    Ok(start.elapsed().as_millis() as u64)
}

fn tempfile_dir() -> Result<PathBuf, LlmError> {
    let dir = std::env::temp_dir().join(format!("hearth-llm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| LlmError::Thread(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model            {} ({:.2} GB)", self.model, self.model_bytes as f64 / 1e9)?;
        if let Some(ms) = self.generated_ms {
            writeln!(f, "                 generated in {:.1} s for this run", ms as f64 / 1000.0)?;
        }
        writeln!(f, "threads          {}", self.threads)?;
        writeln!(f, "load             {} ms (read into RAM, no mmap)", self.load_ms)?;
        writeln!(f, "prefix           {} tokens (system prompt + tool definitions)", self.prefix_tokens)?;
        writeln!(f, "cold start       {} ms load + {} ms prefix evaluated = {} ms", self.load_ms, self.cold_prefix_ms, self.load_ms + self.cold_prefix_ms)?;
        writeln!(
            f,
            "warm start       {} ms load + {} ms prefix {} = {} ms",
            self.load_ms,
            self.restored_prefix_ms,
            if self.restored { "restored from saved state" } else { "(NOT restored: evaluated)" },
            self.load_ms + self.restored_prefix_ms
        )?;
        writeln!(f, "prompt speed     {:.1} tokens/s", self.prompt_tokens_per_s())?;
        writeln!(f, "generation speed {:.1} tokens/s", self.generation_tokens_per_s())?;
        for (label, t) in [("first turn", &self.first_turn), ("follow-up", &self.follow_up)] {
            writeln!(
                f,
                "{label:<16} {:?}: evaluated {} tokens ({} cached) in {} ms, generated {} in {} ms, first output {}",
                t.user,
                t.evaluated_tokens,
                t.reused_tokens,
                t.prompt_ms,
                t.generated_tokens,
                t.generate_ms,
                t.first_output_ms.map_or("none".into(), |ms| format!("after {ms} ms"))
            )?;
        }
        Ok(())
    }
}
