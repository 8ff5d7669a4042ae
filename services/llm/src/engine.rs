//! The engine: llama.cpp with one sequence whose KV cache always holds the fixed prefix (system prompt, tool
//! definitions and the first user turn's opening, in the model's own chat format) and, after a turn, that
//! turn. A new turn evaluates only the tokens after the longest common
//! prefix with what is cached, so a follow-up pays for the new message alone. The prefix's KV state is saved
//! under the data directory and restored at start while model, prompt and tools are unchanged.
//!
//! Plain synchronous code with no MQTT: the service runs it on its own thread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use hearth_bus::llm::ChatMessage;
use hearth_bus::tool::ToolSpec;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use tracing::{debug, info, warn};

use crate::config::{LlmConfig, DEFAULT_MODEL_NAME};
use crate::grammar::{self, ParsedCall};
use crate::prompt::{self, ChatPrompt, ModelFormat, PromptError, Segment, SpecialTokens};
use crate::speech::{clean_for_speech, SentenceSplitter, ThinkFilter, Utf8Stream};
use crate::tool_format::{ToolFormat, CALL_STARTS};
use crate::LlmError;

/// llama.cpp's process-wide backend, initialised once (it refuses a second init).
pub fn backend() -> Result<&'static LlamaBackend, LlmError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LlmError::Llama(format!("backend: {e}")))
}

/// A loaded model file.
pub struct LlmModel {
    model: LlamaModel,
    path: PathBuf,
    /// Size and modification time: what the saved prefix state is keyed on (hashing gigabytes over NFS
    /// at every start would cost more than it saves).
    identity: String,
    /// How long loading took, milliseconds.
    pub load_ms: u64,
}

impl LlmModel {
    /// Reads the whole file into RAM (no memory mapping: the models directory may be on NFS).
    pub fn load(path: &Path) -> Result<LlmModel, LlmError> {
        let meta = std::fs::metadata(path).map_err(|_| LlmError::MissingModel { path: path.to_path_buf() })?;
        let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        let start = Instant::now();
        let params = LlamaModelParams::default().with_use_mmap(false);
        let model = LlamaModel::load_from_file(backend()?, path, &params)
            .map_err(|e| LlmError::Load { path: path.to_path_buf(), why: e.to_string() })?;
        let load_ms = start.elapsed().as_millis() as u64;
        info!(path = %path.display(), load_ms, params = model.n_params(), "model loaded");
        Ok(LlmModel { model, path: path.to_path_buf(), identity: format!("{}:{mtime}", meta.len()), load_ms })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn tokenize(&self, segments: &[Segment]) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        segments.iter().flat_map(|s| vocab.tokenize(s.text.as_bytes(), false, s.markup)).collect()
    }

    /// A string from the GGUF metadata.
    pub fn meta(&self, key: &str) -> Option<String> {
        self.model.meta_val_str(key).ok().filter(|v| !v.is_empty())
    }

    fn special_tokens(&self) -> SpecialTokens {
        let vocab = self.model.vocab();
        let text = |token: LlamaToken| {
            if token.0 < 0 {
                return String::new();
            }
            let mut piece = Vec::new();
            vocab.token_to_piece_into(token, &mut piece, true, None);
            String::from_utf8_lossy(&piece).into_owned()
        };
        SpecialTokens { bos: text(vocab.bos()), eos: text(vocab.eos()) }
    }

    fn file_name(&self) -> String {
        self.path.file_name().map_or_else(|| self.path.display().to_string(), |n| n.to_string_lossy().into_owned())
    }

    /// What the GGUF says about its prompt format.
    pub fn format_info(&self) -> ModelFormat {
        ModelFormat {
            file: self.file_name(),
            architecture: self.meta("general.architecture").unwrap_or_else(|| "unknown".into()),
            chat_template: self.meta("tokenizer.chat_template"),
            special: self.special_tokens(),
        }
    }
}

/// One output of a reply, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A sentence, cleaned for speech.
    Sentence(String),
    /// The reply is this tool call (nothing else is said).
    ToolCall(ParsedCall),
}

/// Figures for one turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnStats {
    /// Prompt tokens evaluated this turn (the cached part excluded).
    pub prompt_tokens: u32,
    /// Prompt tokens reused from the KV cache.
    pub reused_tokens: u32,
    /// Time evaluating the prompt, milliseconds.
    pub prompt_ms: u64,
    pub generated_tokens: u32,
    /// Time generating, milliseconds.
    pub generate_ms: u64,
    /// From the start of the turn to the first sentence or tool call, milliseconds.
    pub first_output_ms: Option<u64>,
    pub total_ms: u64,
    /// Generation stopped at `max_tokens` rather than at the end of the reply.
    pub truncated: bool,
    /// Why the reply cannot be used (a tool call cut off at the token limit, an empty reply); its outputs,
    /// if any, were still delivered.
    pub unusable: Option<String>,
}

/// How the prefix got into the KV cache at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartupStats {
    pub prefix_tokens: u32,
    /// Restored from the saved state rather than evaluated.
    pub restored: bool,
    /// Time to evaluate or restore the prefix and warm up, milliseconds.
    pub prefix_ms: u64,
}

/// The engine: a model's context with the cached prefix.
pub struct Engine<'m> {
    model: &'m LlmModel,
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    n_batch: usize,
    n_ctx: usize,
    max_tokens: usize,
    prompt: ChatPrompt,
    /// How calls are written (`Hermes` when there are no tools: the grammar then has no calls).
    format: ToolFormat,
    tools: Vec<ToolSpec>,
    grammar: LlamaSampler,
    chain: LlamaSampler,
    prefix: Vec<LlamaToken>,
    /// Tokens whose KV entries are in sequence 0 at positions `0..cached.len()`.
    cached: Vec<LlamaToken>,
    cancel: Arc<AtomicBool>,
    pub startup: StartupStats,
}

impl<'m> Engine<'m> {
    /// Creates the context, then restores the prefix from `state_dir` or evaluates it (and saves it there).
    pub fn new(model: &'m LlmModel, config: &LlmConfig, tools: Vec<ToolSpec>, state_dir: Option<&Path>) -> Result<Self, LlmError> {
        let threads = config.thread_count();
        let n_ctx = config.context_tokens.min(model.model.n_ctx_train().max(256));
        let params = LlamaContextParams::default()
            .with_n_ctx(std::num::NonZeroU32::new(n_ctx))
            .with_n_batch(config.batch_tokens)
            .with_n_ubatch(config.batch_tokens)
            .with_n_seq_max(1)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let ctx = model.model.new_context(backend()?, params).map_err(|e| LlmError::Llama(format!("context: {e}")))?;
        let prompt = ChatPrompt::for_model(&model.format_info(), config, tools, chrono::Local::now().fixed_offset())?;
        for notice in prompt.notices() {
            warn!(model = %model.path.display(), "{notice}");
        }
        let tools = prompt.tools().to_vec();
        let format = prompt.tool_format().unwrap_or(ToolFormat::Hermes);
        let grammar_text = grammar::grammar(format, &tools);
        let grammar = LlamaSampler::grammar(&model.model, &grammar_text, "root")
            .map_err(|e| LlmError::Llama(format!("tool grammar: {e}")))?;
        let chain = if config.temperature <= 0.0 {
            LlamaSampler::greedy()
        } else {
            let mut stages = Vec::new();
            if config.top_k > 0 {
                stages.push(LlamaSampler::top_k(config.top_k as i32));
            }
            stages.push(LlamaSampler::top_p(config.top_p, 1));
            if config.min_p > 0.0 {
                stages.push(LlamaSampler::min_p(config.min_p, 1));
            }
            stages.push(LlamaSampler::temp(config.temperature));
            stages.push(LlamaSampler::dist(config.seed));
            LlamaSampler::chain_simple(stages)
        };
        let prefix_segments = prompt.prefix();
        let mut prefix = model.tokenize(&prefix_segments);
        // Templates write the BOS token themselves; one that does not still gets it where the model wants it.
        let vocab = model.model.vocab();
        if vocab.should_add_bos() && vocab.bos().0 >= 0 && prefix.first() != Some(&vocab.bos()) {
            prefix.insert(0, vocab.bos());
        }
        if prefix.len() + config.max_tokens as usize + 64 > n_ctx as usize {
            return Err(LlmError::ContextOverflow { tokens: prefix.len(), context: n_ctx as usize });
        }
        let mut engine = Engine {
            model,
            ctx,
            batch: LlamaBatch::new(config.batch_tokens as usize, 1),
            n_batch: config.batch_tokens as usize,
            n_ctx: n_ctx as usize,
            max_tokens: config.max_tokens as usize,
            prompt,
            format,
            tools,
            grammar,
            chain,
            prefix,
            cached: Vec::new(),
            cancel: Arc::new(AtomicBool::new(false)),
            startup: StartupStats::default(),
        };
        let key = state_key(model, &prompt::text(&prefix_segments), &grammar_text, n_ctx);
        engine.prepare_prefix(state_dir.map(|d| d.join(format!("prefix-{key:016x}.state"))).as_deref())?;
        Ok(engine)
    }

    /// Uses `flag` to stop a turn in progress at the next token (set at shutdown).
    pub fn set_cancel_flag(&mut self, flag: Arc<AtomicBool>) {
        self.cancel = flag;
    }

    pub fn prefix_tokens(&self) -> usize {
        self.prefix.len()
    }

    /// The tools the model is offered: none when Hearth does not know its tool-call format.
    pub fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }

    /// The prompt format in use.
    pub fn prompt(&self) -> &ChatPrompt {
        &self.prompt
    }

    /// What the user should hear about at start (tools off, a built-in template used …).
    pub fn notices(&self) -> &[String] {
        self.prompt.notices()
    }

    fn prepare_prefix(&mut self, state_file: Option<&Path>) -> Result<(), LlmError> {
        let start = Instant::now();
        let mut restored = false;
        if let Some(file) = state_file.filter(|f| f.is_file()) {
            match self.ctx.state_seq_load_file(file, 0, self.prefix.len() + 1) {
                Ok((tokens, bytes)) if tokens == self.prefix => {
                    self.cached = tokens;
                    restored = true;
                    info!(file = %file.display(), bytes, tokens = self.cached.len(), "prefix state restored");
                }
                Ok(_) => warn!(file = %file.display(), "saved prefix state is for other tokens; evaluating"),
                Err(e) => warn!(file = %file.display(), error = %e, "cannot restore prefix state; evaluating"),
            }
            if !restored {
                self.ctx.clear_kv_cache();
                self.cached.clear();
            }
        }
        if !restored {
            let prefix = self.prefix.clone();
            self.evaluate(&prefix)?;
            if let Some(file) = state_file {
                save_state(&self.ctx, file, &self.prefix);
            }
        }
        self.startup = StartupStats { prefix_tokens: self.prefix.len() as u32, restored, prefix_ms: start.elapsed().as_millis() as u64 };
        info!(tokens = self.prefix.len(), restored, ms = self.startup.prefix_ms, "prefix ready");
        Ok(())
    }

    /// Appends `tokens` to the sequence (after `cached`), in batches; logits for the last one.
    fn evaluate(&mut self, tokens: &[LlamaToken]) -> Result<(), LlmError> {
        for (c, chunk) in tokens.chunks(self.n_batch).enumerate() {
            let last_chunk = (c + 1) * self.n_batch >= tokens.len();
            self.batch.clear();
            for (i, &t) in chunk.iter().enumerate() {
                let pos = self.cached.len() as i32;
                self.batch
                    .add(t, pos, &[0], last_chunk && i + 1 == chunk.len())
                    .map_err(|e| LlmError::Llama(format!("batch: {e}")))?;
                self.cached.push(t);
            }
            if let Err(e) = self.ctx.decode(&mut self.batch) {
                // The cache no longer matches `cached`: start over from nothing on the next turn.
                self.ctx.clear_kv_cache();
                self.cached.clear();
                return Err(LlmError::Llama(format!("decode: {e}")));
            }
        }
        Ok(())
    }

    /// The prompt for `messages`, dropping the oldest messages until the prompt and a full reply fit.
    fn prompt_tokens(&self, messages: &[ChatMessage]) -> Result<Vec<LlamaToken>, LlmError> {
        let budget = self.n_ctx.saturating_sub(self.max_tokens);
        let mut last_len = 0;
        for start in 0..messages.len().max(1) {
            let mut tokens = self.prefix.clone();
            let conversation = match self.prompt.conversation(&messages[start.min(messages.len())..]) {
                Ok(c) => c,
                // No user message is left to drop down to.
                Err(PromptError::NoUserMessage) if start > 0 => break,
                Err(e) => return Err(e.into()),
            };
            tokens.extend(self.model.tokenize(&conversation));
            if tokens.len() <= budget {
                if start > 0 {
                    debug!(dropped = start, "dropped the oldest messages to fit the context");
                }
                return Ok(tokens);
            }
            last_len = tokens.len();
        }
        Err(LlmError::ContextOverflow { tokens: last_len, context: self.n_ctx })
    }

    /// Answers the conversation (the last message being the new one): calls `on_output` with each sentence as
    /// soon as it is complete, or once with the tool call.
    pub fn respond(&mut self, messages: &[ChatMessage], mut on_output: impl FnMut(Output)) -> Result<TurnStats, LlmError> {
        let start = Instant::now();
        let tokens = self.prompt_tokens(messages)?;
        // Reuse the longest common prefix; always evaluate at least one token to get fresh logits.
        let common = self.cached.iter().zip(&tokens).take_while(|(a, b)| a == b).count().min(tokens.len() - 1);
        if common < self.cached.len() {
            if !self.ctx.clear_kv_cache_seq(Some(0), Some(common as u32), None).unwrap_or(false) {
                self.ctx.clear_kv_cache();
                self.cached.clear();
            } else {
                self.cached.truncate(common);
            }
        }
        let reused = self.cached.len();
        self.evaluate(&tokens[reused..])?;
        let prompt_ms = start.elapsed().as_millis() as u64;
        debug!(reused, evaluated = tokens.len() - reused, prompt_ms, "prompt evaluated");

        // The chain is not reset: a sampling RNG that restarted from its seed every turn would draw the same
        // numbers each time.
        self.grammar.reset();
        let mut stats = TurnStats { prompt_tokens: (tokens.len() - reused) as u32, reused_tokens: reused as u32, prompt_ms, ..Default::default() };
        let mut reply = Reply::default();
        let gen_start = Instant::now();
        let model = self.model;
        let vocab = model.model.vocab();
        let mut piece = Vec::new();
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(LlmError::Cancelled);
            }
            if stats.generated_tokens as usize >= self.max_tokens || self.cached.len() + 1 >= self.n_ctx {
                stats.truncated = true;
                break;
            }
            let token = self.sample()?;
            if vocab.is_eog(token) {
                break;
            }
            stats.generated_tokens += 1;
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            for out in reply.push(&piece) {
                stats.first_output_ms.get_or_insert(start.elapsed().as_millis() as u64);
                on_output(out);
            }
            self.evaluate(&[token])?;
        }
        stats.generate_ms = gen_start.elapsed().as_millis() as u64;
        match reply.finish(self.format, &self.tools, stats.truncated) {
            Ok(outputs) => {
                for out in outputs {
                    stats.first_output_ms.get_or_insert(start.elapsed().as_millis() as u64);
                    on_output(out);
                }
            }
            Err(e) => stats.unusable = Some(e.to_string()),
        }
        stats.total_ms = start.elapsed().as_millis() as u64;
        Ok(stats)
    }

    /// Samples the next token. The grammar is checked against the sampled token first and applied to the
    /// whole vocabulary only when that token breaks it (llama.cpp's common sampler does the same): checking
    /// ~150k candidates at every step would cost more than the rest of sampling.
    fn sample(&mut self) -> Result<LlamaToken, LlmError> {
        let mut candidates = self.ctx.token_data_array_ith(-1);
        candidates.apply_sampler(&mut self.chain);
        let mut token = candidates.selected_token().ok_or_else(|| LlmError::Llama("sampler chose no token".into()))?;
        let mut single = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
        single.apply_sampler(&mut self.grammar);
        if !single.data[0].logit().is_finite() {
            let mut candidates = self.ctx.token_data_array_ith(-1);
            candidates.apply_sampler(&mut self.grammar);
            candidates.apply_sampler(&mut self.chain);
            token = candidates.selected_token().ok_or_else(|| LlmError::Llama("sampler chose no token".into()))?;
        }
        self.grammar.try_accept(token).map_err(|e| LlmError::Llama(format!("grammar rejected a token: {e}")))?;
        self.chain.accept(token);
        Ok(token)
    }
}

/// A reply being generated: undecided until its first visible character, then a tool call (held until
/// complete) or spoken text (split into sentences as it comes).
#[derive(Default)]
struct Reply {
    utf8: Utf8Stream,
    think: ThinkFilter,
    text: String,
    mode: Mode,
    splitter: SentenceSplitter,
    /// Outputs already handed out.
    emitted: usize,
}

#[derive(Default, PartialEq)]
enum Mode {
    #[default]
    Undecided,
    Call,
    Answer,
}

impl Reply {
    fn push(&mut self, bytes: &[u8]) -> Vec<Output> {
        let visible = self.think.push(&self.utf8.push(bytes));
        let out = self.take(visible);
        self.emitted += out.len();
        out
    }

    fn take(&mut self, visible: String) -> Vec<Output> {
        match self.mode {
            Mode::Call => {
                self.text.push_str(&visible);
                Vec::new()
            }
            Mode::Answer => sentences(self.splitter.push(&visible)),
            Mode::Undecided => {
                self.text.push_str(&visible);
                let Some(first) = self.text.trim_start().chars().next() else { return Vec::new() };
                if CALL_STARTS.contains(&first) {
                    self.mode = Mode::Call;
                    Vec::new()
                } else {
                    self.mode = Mode::Answer;
                    let text = std::mem::take(&mut self.text);
                    sentences(self.splitter.push(&text))
                }
            }
        }
    }

    fn finish(mut self, format: ToolFormat, tools: &[ToolSpec], truncated: bool) -> Result<Vec<Output>, LlmError> {
        self.utf8.finish();
        let tail = self.think.finish();
        let mut out = self.take(tail);
        match self.mode {
            Mode::Call => match grammar::parse_call(format, &self.text, tools) {
                Ok(call) => out.push(Output::ToolCall(call)),
                Err(why) if truncated => return Err(LlmError::Truncated(why)),
                Err(why) => return Err(LlmError::BadCall(why)),
            },
            Mode::Answer => out.extend(sentences(self.splitter.finish().into_iter().collect())),
            Mode::Undecided => {}
        }
        if out.is_empty() && self.emitted == 0 {
            return Err(LlmError::EmptyReply);
        }
        Ok(out)
    }
}

fn sentences(raw: Vec<String>) -> Vec<Output> {
    raw.iter().map(|s| clean_for_speech(s)).filter(|s| !s.is_empty()).map(Output::Sentence).collect()
}

/// What the saved prefix state depends on: model file, prompt, tools (through the grammar), context size and
/// the llama.cpp binding's version (its state format).
fn state_key(model: &LlmModel, prefix_text: &str, grammar_text: &str, n_ctx: u32) -> u64 {
    let mut h = Fnv64::default();
    for part in [model.identity.as_str(), prefix_text, grammar_text, &n_ctx.to_string(), LLAMA_BINDING] {
        h.write(part.as_bytes());
        h.write(&[0xFF]);
    }
    h.0
}

const LLAMA_BINDING: &str = "llama-cpp-2 0.1.160";

/// FNV-1a, 64-bit: stable across Rust releases, unlike `DefaultHasher`.
struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Writes the prefix state atomically and removes states saved for other keys.
fn save_state(ctx: &LlamaContext<'_>, file: &Path, tokens: &[LlamaToken]) {
    let Some(dir) = file.parent() else { return };
    if let Err(e) = std::fs::create_dir_all(dir) {
        warn!(dir = %dir.display(), error = %e, "cannot create the prefix state directory");
        return;
    }
    let tmp = file.with_extension("tmp");
    match ctx.state_seq_save_file(&tmp, 0, tokens) {
        Ok(bytes) => {
            if let Err(e) = std::fs::rename(&tmp, file) {
                warn!(file = %file.display(), error = %e, "cannot save the prefix state");
                return;
            }
            info!(file = %file.display(), bytes, "prefix state saved");
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with("prefix-") && entry.path() != file {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
            }
        }
        Err(e) => warn!(file = %file.display(), error = %e, "cannot save the prefix state"),
    }
}

/// The message for a missing model, with the command that fixes it.
pub fn missing_model_detail(path: &Path) -> String {
    format!("missing {} — run `hearth models pull {DEFAULT_MODEL_NAME}`", path.display())
}
