//! The real Gemma 3 270M (Q4_K_M) from the real-models cache: it loads, its prompt is rendered in Gemma's chat
//! format, replies stream as sentences or come as calls that the grammar kept well-formed, and a follow-up
//! reuses the cached prefix. It is a base model: these tests check the mechanics, never its answers.
//!
//! The file is `$HEARTH_REAL_MODELS/llm/gemma-3-270m-q4_k_m.gguf` (default `~/.cache/hearth/real-models`),
//! written by scripts/fetch-real-models.sh. Missing, the tests skip with a message, except in CI.

use std::path::PathBuf;

use hearth_bus::llm::{ChatMessage, Role};
use hearth_bus::tool::catalog;
use hearth_llm::engine::{Engine, LlmModel, Output};
use hearth_llm::grammar;
use hearth_llm::tool_format::{ToolFormat, CALL_STARTS};
use hearth_llm::LlmConfig;

const GEMMA: &str = "llm/gemma-3-270m-q4_k_m.gguf";

fn real_model(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("HEARTH_REAL_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/hearth/real-models"));
    let path = root.join(relative);
    if path.is_file() {
        return Some(path);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI needs {} (run scripts/fetch-real-models.sh)", path.display());
    eprintln!("skipping: {} is missing (run scripts/fetch-real-models.sh)", path.display());
    None
}

fn user(text: &str) -> ChatMessage {
    ChatMessage { role: Role::User, content: text.into() }
}

#[test]
fn real_gemma_renders_its_format_streams_sentences_and_obeys_the_grammar() {
    let Some(path) = real_model(GEMMA) else { return };
    let model = LlmModel::load(&path).unwrap();
    // Sampled, so that sixteen turns of a base model try both calls and text.
    let config = LlmConfig { threads: 2, context_tokens: 2048, max_tokens: 64, temperature: 1.0, top_k: 0, top_p: 1.0, seed: 3, ..LlmConfig::default() };
    let tools = catalog();
    let mut engine = Engine::new(&model, &config, tools.clone(), None).unwrap();

    // The base model's GGUF carries no chat template: Hearth uses its built-in Gemma 3 one, and says so.
    assert!(engine.notices().iter().any(|n| n.contains("has no chat template") && n.contains("built-in gemma3")), "{:?}", engine.notices());
    assert_eq!(engine.prompt().tool_format(), Some(ToolFormat::Json));
    assert_eq!(engine.tools().len(), tools.len());
    let prefix = engine.prompt().prefix_text();
    assert!(prefix.starts_with("<bos><start_of_turn>user\nYou are Hearth"), "{prefix}");
    assert!(engine.prefix_tokens() > 300, "system prompt and tools: {} tokens", engine.prefix_tokens());

    let (mut calls, mut sentences, mut multi_sentence_turns) = (0, 0, 0);
    for n in 0..16 {
        let mut outputs = Vec::new();
        let stats = engine.respond(&[user(&format!("Question {n}: what's the weather in Paris?"))], |o| outputs.push(o)).unwrap();
        assert!(stats.reused_tokens as usize >= engine.prefix_tokens(), "the prefix stays cached: {stats:?}");
        assert!(stats.generated_tokens > 0);
        let said = outputs.iter().filter(|o| matches!(o, Output::Sentence(_))).count();
        if said > 1 {
            multi_sentence_turns += 1;
        }
        if let Some(Output::Sentence(s)) = outputs.first() {
            assert!(!s.starts_with(CALL_STARTS), "only a call may start with a call's first character: {s:?}");
        }
        for out in &outputs {
            match out {
                Output::ToolCall(call) => {
                    calls += 1;
                    let spec = tools.iter().find(|t| t.name == call.tool).expect("a known tool");
                    grammar::validate(&call.arguments, &spec.parameters).expect("arguments match the schema");
                    assert_eq!(outputs.len(), 1, "a call is the whole reply");
                }
                Output::Sentence(s) => {
                    sentences += 1;
                    assert!(!s.trim().is_empty(), "{s:?}");
                }
            }
        }
        if let Some(why) = &stats.unusable {
            assert!(!why.contains("cannot be used"), "never a malformed call: {why}");
        }
    }
    eprintln!("gemma 270m: {calls} calls, {sentences} sentences, {multi_sentence_turns} turns of several sentences");
    assert!(sentences > 0, "a base model under the grammar still speaks");
    assert!(multi_sentence_turns > 0, "replies are split into sentences as they stream");

    // A follow-up evaluates only what is new.
    let first = [user("Tell me about Paris.")];
    let mut said = Vec::new();
    let s1 = engine.respond(&first, |o| said.push(o)).unwrap();
    let follow = [first[0].clone(), ChatMessage { role: Role::Assistant, content: "Paris is the capital of France.".into() }, user("And Lyon?")];
    let s2 = engine.respond(&follow, |_| {}).unwrap();
    assert!(s2.reused_tokens >= s1.reused_tokens + 4, "{s1:?} {s2:?}");
    assert!(s2.prompt_tokens < 40, "only the new turn is evaluated: {s2:?}");
}
