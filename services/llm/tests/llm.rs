//! hearth-llm end to end with tiny GGUF models (fixtures/llm, made by make_gguf.py, carrying Qwen3's chat
//! template) through llama.cpp: the engine directly (prefix cache, saved state, grammar under random weights)
//! and the service over a real broker (tool call, streamed sentences, missing model, unknown tool format).
//! Modules: chat templates against Python jinja2 ([`templates`]) and the real Gemma 3 270M ([`real_gemma`]).

#[path = "llm/templates.rs"]
mod templates;

#[path = "llm/real_gemma.rs"]
mod real_gemma;

use std::path::{Path, PathBuf};
use std::time::Duration;

use hearth_bus::llm::{ChatMessage, LlmEvent, LlmEventKind, LlmRequest, Role};
use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::tool::catalog;
use hearth_bus::{Bus, BusConfig, Inbox, Message, Shutdown};
use hearth_llm::engine::{Engine, LlmModel, Output};
use hearth_llm::grammar;
use hearth_llm::service::LlmPaths;
use hearth_llm::LlmConfig;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/llm")).join(name)
}

fn config() -> LlmConfig {
    // The tiny fixture's tokenizer spends about one token per character, and the prefix with the whole tool
    // catalog (the camera, messages and calls included) is over 4500 of them; real tokenizers need a quarter.
    LlmConfig { threads: 2, context_tokens: 8192, max_tokens: 64, ..LlmConfig::default() }
}

fn user(text: &str) -> ChatMessage {
    ChatMessage { role: Role::User, content: text.into() }
}

fn collect(engine: &mut Engine<'_>, messages: &[ChatMessage]) -> (Vec<Output>, hearth_llm::TurnStats) {
    let mut outputs = Vec::new();
    let stats = engine.respond(messages, |o| outputs.push(o)).expect("turn");
    (outputs, stats)
}

#[test]
fn scripted_models_answer_through_llama_cpp() {
    let model = LlmModel::load(&fixture("tool-call.gguf")).unwrap();
    let mut engine = Engine::new(&model, &config(), catalog(), None).unwrap();
    let (outputs, stats) = collect(&mut engine, &[user("What's the weather in Paris?")]);
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    let Output::ToolCall(call) = &outputs[0] else { panic!("{outputs:?}") };
    assert_eq!(call.tool, "get_weather");
    assert_eq!(call.arguments, json!({"location": "Paris"}));
    assert_eq!(stats.generated_tokens, 9);
    assert!(stats.unusable.is_none());

    let model = LlmModel::load(&fixture("answer.gguf")).unwrap();
    let mut engine = Engine::new(&model, &config(), catalog(), None).unwrap();
    let (outputs, _) = collect(&mut engine, &[user("Tell me about Paris.")]);
    assert_eq!(
        outputs,
        vec![
            Output::Sentence("Paris is the capital of France.".into()),
            Output::Sentence("It has about 2.1 million people.".into())
        ]
    );
}

#[test]
fn a_follow_up_evaluates_only_the_new_turn() {
    let model = LlmModel::load(&fixture("answer.gguf")).unwrap();
    let mut engine = Engine::new(&model, &config(), catalog(), None).unwrap();
    let prefix = engine.prefix_tokens() as u32;
    let first = [user("Tell me about Paris.")];
    let (_, s1) = collect(&mut engine, &first);
    assert!(s1.reused_tokens >= prefix, "the prefix (up to the user's words) is cached: {s1:?}");
    assert!(s1.prompt_tokens < 40, "only the user turn is evaluated: {s1:?}");

    let follow = [
        user("Tell me about Paris."),
        ChatMessage { role: Role::Assistant, content: "Paris is the capital of France. It has about 2.1 million people.".into() },
        user("And Lyon?"),
    ];
    let (_, s2) = collect(&mut engine, &follow);
    // Reused: all of the first turn but the empty think block that Qwen3's template writes after the
    // generation prompt only (`<think>\n\n</think>\n\n`, 6 tokens here); history shows the reply without it.
    assert!(s2.reused_tokens + 6 >= s1.reused_tokens + s1.prompt_tokens, "{s1:?} {s2:?}");
    let new_turn = "Paris is the capital of France. It has about 2.1 million people.<|im_end|>\n<|im_start|>user\nAnd Lyon?<|im_end|>\n<|im_start|>assistant\n";
    assert!((s2.prompt_tokens as usize) <= new_turn.len(), "{s2:?}");

    // The same request again: everything but the last token is reused.
    let (_, s3) = collect(&mut engine, &follow);
    assert_eq!(s3.prompt_tokens, 1, "{s3:?}");
}

#[test]
fn the_prefix_state_is_saved_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let model = LlmModel::load(&fixture("answer.gguf")).unwrap();
    let (cold_out, cold) = {
        let mut engine = Engine::new(&model, &config(), catalog(), Some(dir.path())).unwrap();
        assert!(!engine.startup.restored);
        let out = collect(&mut engine, &[user("Hi")]);
        (out.0, engine.startup.clone())
    };
    let saved: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let mut engine = Engine::new(&model, &config(), catalog(), Some(dir.path())).unwrap();
    assert!(engine.startup.restored);
    assert_eq!(engine.startup.prefix_tokens, cold.prefix_tokens);
    let (warm_out, stats) = collect(&mut engine, &[user("Hi")]);
    assert_eq!(warm_out, cold_out);
    assert!(stats.reused_tokens >= cold.prefix_tokens);
    drop(engine);

    // Another system prompt is another key: not restored, and the stale state is replaced.
    let other = LlmConfig { system_prompt: Some("Be brief.".into()), ..config() };
    let engine = Engine::new(&model, &other, catalog(), Some(dir.path())).unwrap();
    assert!(!engine.startup.restored);
    let now: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(now.len(), 1);
    assert_ne!(now, saved);
}

#[test]
fn random_weights_under_the_grammar_give_only_calls_or_text() {
    let model = LlmModel::load(&fixture("random.gguf")).unwrap();
    let tools = catalog();
    let (mut calls, mut answers) = (0, 0);
    // Sampled (not greedy) so the replies differ; enough tokens for any call to finish.
    let config = LlmConfig { temperature: 1.0, top_k: 0, top_p: 1.0, seed: 7, max_tokens: 500, context_tokens: 8192, ..config() };
    let mut engine = Engine::new(&model, &config, tools.clone(), None).unwrap();
    for n in 0..16u32 {
        let (outputs, stats) = collect(&mut engine, &[user(&format!("Question number {n}?"))]);
        assert!(stats.generated_tokens > 0);
        for out in &outputs {
            match out {
                Output::ToolCall(call) => {
                    calls += 1;
                    let spec = tools.iter().find(|t| t.name == call.tool).expect("a known tool");
                    grammar::validate(&call.arguments, &spec.parameters).expect("valid arguments");
                    assert_eq!(outputs.len(), 1, "a call is the whole reply");
                }
                Output::Sentence(s) => {
                    answers += 1;
                    assert!(!s.is_empty() && !s.starts_with('<'), "{s:?}");
                }
            }
        }
        if let Some(why) = &stats.unusable {
            assert!(!why.contains("cannot be used"), "never a malformed call: {why}");
        }
    }
    eprintln!("random model: {calls} calls, {answers} sentences");
    // The fixture makes a call about as likely as text for the first token (see make_gguf.py).
    assert!(calls > 0 && answers > 0, "{calls} calls, {answers} sentences");
}

#[test]
fn fixtures_match_their_generator() {
    let python = std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_gguf = std::process::Command::new(&python).args(["-c", "import gguf, numpy"]).status().is_ok_and(|s| s.success());
    if !has_gguf {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI needs `pip install gguf numpy`");
        eprintln!("skipping: python module gguf or numpy missing (pip install gguf numpy)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(&python)
        .arg(fixture("make_gguf.py"))
        .arg("fixtures")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    for name in ["tool-call.gguf", "answer.gguf", "random.gguf"] {
        let fresh = std::fs::read(dir.path().join(name)).unwrap();
        let committed = std::fs::read(fixture(name)).unwrap();
        assert!(fresh == committed, "{name} differs from what make_gguf.py writes: regenerate the fixtures");
    }
}

// ---- the service over a real broker ----

struct Harness {
    _broker: hearth_broker::BrokerHandle,
    shutdown: Shutdown,
    service: tokio::task::JoinHandle<Result<(), hearth_llm::LlmError>>,
    _conns: [hearth_bus::Connection; 2],
}

/// Starts a broker, a test client (subscribed to llm events and the llm status) and the service; returns once
/// the service has subscribed to requests (it says "loading" after that).
async fn start_service(model: &Path, state_dir: Option<PathBuf>, config: LlmConfig) -> (Harness, Bus) {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (test, test_conn) = Bus::connect(&bus_config, "test-brain", "kitchen").unwrap();
    test.client.wait_connected(WAIT).await.unwrap();
    test.client.subscribe_all_sites::<LlmEvent>().await.unwrap();
    test.client.subscribe(status_topic("default", "llm")).await.unwrap();
    let Bus { client, mut inbox } = test;

    let (bus, conn) = Bus::connect(&bus_config, "llm", "default").unwrap();
    bus.client.wait_connected(WAIT).await.unwrap();
    let shutdown = Shutdown::new();
    let paths = LlmPaths { model: model.to_path_buf(), state_dir };
    let service = tokio::spawn(hearth_llm::run(config, paths, bus, shutdown.clone()));
    let loading = wait_status(&mut inbox, &[ServiceState::Unavailable]).await;
    assert!(loading.detail.unwrap().starts_with("loading"));
    (Harness { _broker: broker, shutdown, service, _conns: [conn, test_conn] }, Bus { client, inbox })
}

/// The next status of the llm service in `want` (any state when empty).
async fn wait_status(inbox: &mut Inbox, want: &[ServiceState]) -> ServiceStatus {
    let topic = status_topic("default", "llm");
    let wanted = |s: &ServiceStatus| want.is_empty() || want.contains(&s.state);
    let e = inbox.next_matching(WAIT, |e| e.topic == topic && ServiceStatus::from_payload(&e.payload).is_ok_and(|s| wanted(&s))).await;
    ServiceStatus::from_payload(&e.expect("timed out waiting for the llm status").payload).unwrap()
}

/// Events for `request_id` up to and including done or error.
async fn events(inbox: &mut Inbox, request_id: &str) -> Vec<LlmEventKind> {
    tokio::time::timeout(WAIT, async {
        let mut out = Vec::new();
        loop {
            let e = inbox.recv().await.expect("inbox closed");
            let Some(ev) = e.decode::<LlmEvent>() else { continue };
            if ev.request_id != request_id {
                continue;
            }
            assert_eq!(e.site(), Some("kitchen"), "answered on the request's site");
            let end = matches!(ev.event, LlmEventKind::Done { .. } | LlmEventKind::Error { .. });
            out.push(ev.event);
            if end {
                return out;
            }
        }
    })
    .await
    .expect("timed out waiting for llm events")
}

fn request(id: &str, messages: Vec<ChatMessage>) -> LlmRequest {
    LlmRequest { request_id: id.into(), session_id: "s1".into(), messages }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_streams_a_tool_call_then_done() {
    let dir = tempfile::tempdir().unwrap();
    let (h, Bus { client, mut inbox }) = start_service(&fixture("tool-call.gguf"), Some(dir.path().join("llm")), config()).await;
    wait_status(&mut inbox, &[ServiceState::Online]).await;
    client.publish("kitchen", &request("r1", vec![user("Weather in Paris?")])).await.unwrap();
    let got = events(&mut inbox, "r1").await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], LlmEventKind::ToolCall { tool: "get_weather".into(), arguments: json!({"location": "Paris"}) });
    let LlmEventKind::Done { generated_tokens, prompt_tokens, .. } = got[1] else { panic!("{got:?}") };
    assert_eq!(generated_tokens, 9);
    assert!(prompt_tokens > 0);
    assert!(dir.path().join("llm").read_dir().unwrap().count() == 1, "prefix state saved under <data_dir>/llm");
    h.shutdown.trigger();
    h.service.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_streams_sentences_in_order_and_queues_requests() {
    let (h, Bus { client, mut inbox }) = start_service(&fixture("answer.gguf"), None, config()).await;
    // Requests sent before the model is ready are queued, then served one at a time in order.
    client.publish("kitchen", &request("a", vec![user("Tell me about Paris.")])).await.unwrap();
    client.publish("kitchen", &request("b", vec![user("Again?")])).await.unwrap();
    for id in ["a", "b"] {
        let got = events(&mut inbox, id).await;
        assert_eq!(
            got[..2],
            [
                LlmEventKind::Sentence { text: "Paris is the capital of France.".into() },
                LlmEventKind::Sentence { text: "It has about 2.1 million people.".into() },
            ],
            "{got:?}"
        );
        assert!(matches!(got[2], LlmEventKind::Done { generated_tokens: 6, .. }), "{got:?}");
    }
    // Bad requests are answered, never dropped in silence.
    client.publish("kitchen", &request("empty", vec![])).await.unwrap();
    let got = events(&mut inbox, "empty").await;
    assert!(matches!(&got[0], LlmEventKind::Error { .. }), "{got:?}");
    h.shutdown.trigger();
    h.service.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_model_leaves_the_service_up_and_answers_with_errors() {
    let missing = PathBuf::from("/nonexistent/llm/Qwen3-4B-Instruct-2507-Q4_K_M.gguf");
    let (h, Bus { client, mut inbox }) = start_service(&missing, None, config()).await;
    let status = wait_status(&mut inbox, &[ServiceState::Unavailable]).await;
    let detail = status.detail.unwrap();
    assert!(detail.contains("missing /nonexistent/llm/Qwen3-4B-Instruct-2507-Q4_K_M.gguf"), "{detail}");
    assert!(detail.contains("hearth models pull qwen3-4b-instruct`"), "{detail}");
    client.publish("kitchen", &request("r", vec![user("Hello?")])).await.unwrap();
    let got = events(&mut inbox, "r").await;
    assert_eq!(got, vec![LlmEventKind::Error { message: detail }]);
    h.shutdown.trigger();
    h.service.await.unwrap().unwrap();
}

/// A chat template in no format Hearth knows (Phi-3's shape): the model is used without tools, and the
/// service says so in its status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_tool_format_is_announced_and_the_model_answers_without_tools() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("phi3.jinja");
    std::fs::write(
        &template,
        "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}",
    )
    .unwrap();
    let config = LlmConfig { chat_template: Some(template.clone()), ..config() };

    let model = LlmModel::load(&fixture("answer.gguf")).unwrap();
    let mut engine = Engine::new(&model, &config, catalog(), None).unwrap();
    assert!(engine.tools().is_empty());
    assert!(!engine.prompt().prefix_text().contains("get_weather"), "no tools in the prompt");
    let (outputs, _) = collect(&mut engine, &[user("Tell me about Paris.")]);
    assert_eq!(outputs[0], Output::Sentence("Paris is the capital of France.".into()));
    drop(engine);

    let (h, Bus { client: _client, mut inbox }) = start_service(&fixture("answer.gguf"), None, config).await;
    let status = wait_status(&mut inbox, &[ServiceState::Online]).await;
    let detail = status.detail.expect("a notice");
    assert!(detail.contains(&template.display().to_string()) && detail.contains("answers without tools"), "{detail}");
    assert!(detail.contains("tool_format"), "says how to choose a format: {detail}");
    h.shutdown.trigger();
    h.service.await.unwrap().unwrap();
}

/// Every format's grammar is one llama.cpp accepts, and a chosen format overrides the detected one.
#[test]
fn every_tool_format_gives_a_grammar_llama_cpp_loads() {
    use hearth_llm::tool_format::{ToolFormat, ToolFormatChoice};
    let model = LlmModel::load(&fixture("answer.gguf")).unwrap();
    for (choice, format) in [
        (ToolFormatChoice::Hermes, Some(ToolFormat::Hermes)),
        (ToolFormatChoice::Llama3, Some(ToolFormat::Llama3)),
        (ToolFormatChoice::Granite, Some(ToolFormat::Granite)),
        (ToolFormatChoice::Json, Some(ToolFormat::Json)),
        (ToolFormatChoice::None, None),
    ] {
        let mut engine = Engine::new(&model, &LlmConfig { tool_format: choice, ..config() }, catalog(), None).unwrap();
        assert_eq!(engine.prompt().tool_format(), format);
        assert_eq!(engine.tools().is_empty(), format.is_none());
        let (outputs, _) = collect(&mut engine, &[user("Tell me about Paris.")]);
        assert_eq!(outputs[0], Output::Sentence("Paris is the capital of France.".into()), "{choice:?}");
    }
}

/// The model's own template: the fixtures carry Qwen3's, so prompts are Qwen3's ChatML with its tools.
#[test]
fn the_gguf_chat_template_is_used() {
    let model = LlmModel::load(&fixture("answer.gguf")).unwrap();
    let engine = Engine::new(&model, &config(), catalog(), None).unwrap();
    assert!(engine.notices().is_empty(), "{:?}", engine.notices());
    assert_eq!(engine.prompt().tool_format(), Some(hearth_llm::tool_format::ToolFormat::Hermes));
    assert!(engine.prompt().prefix_text().contains("<tools>\n{\"type\": \"function\""));
}

#[test]
fn routing_eval_scores_a_model_that_always_calls_and_one_that_never_does() {
    let cases = hearth_llm::eval::CASES.len();
    assert!(cases >= 30, "at least 30 utterances");
    let no_tool = hearth_llm::eval::CASES.iter().filter(|c| c.tool.is_none()).count();

    // Always get_weather(Paris): right only where the weather is wanted and the arguments fit.
    let calls = hearth_llm::eval::eval_routing(&fixture("tool-call.gguf"), &config(), |_| {}).unwrap();
    assert_eq!(calls.cases.len(), cases);
    let passed: Vec<&str> = calls.cases.iter().filter(|c| c.ok).map(|c| c.utterance).collect();
    assert_eq!(passed, ["What's the weather like?", "How warm is it in Paris right now?", "Do I need an umbrella today?"]);
    assert!(calls.cases.iter().filter(|c| c.expected.is_none()).all(|c| !c.tool_ok), "every trap is a false call");
    assert_eq!(calls.false_calls(), no_tool);
    assert!(calls.median_first_call_ms().is_some() && calls.median_first_sentence_ms().is_none());

    // Never a tool: right on exactly the questions and traps that need none.
    let words = hearth_llm::eval::eval_routing(&fixture("answer.gguf"), &config(), |_| {}).unwrap();
    assert_eq!(words.cases.iter().filter(|c| c.ok).count(), no_tool);
    assert!((words.accuracy() - no_tool as f64 / cases as f64).abs() < 1e-9);
    assert!(words.generation_tokens_per_s() > 0.0);
    assert_eq!(words.false_calls(), 0);
    assert!(words.median_first_sentence_ms().is_some());

    // One table for the bake-off, a row per model, a failed model included.
    let table = hearth_llm::eval::comparison_table(&[
        ("/m/tool-call.gguf".into(), Ok(calls)),
        ("/m/answer.gguf".into(), Ok(words)),
        ("/m/missing.gguf".into(), Err("missing /m/missing.gguf".into())),
    ]);
    eprintln!("{table}");
    let rows: Vec<&str> = table.lines().collect();
    assert!(rows[0].starts_with("model") && rows[0].contains("weather") && rows[0].contains("false-calls"), "{table}");
    let calls_row = rows.iter().find(|r| r.starts_with("tool-call.gguf")).expect("a row per model");
    assert!(calls_row.contains(" 3/5 ") && calls_row.contains(&format!("{no_tool}/{no_tool}")) && calls_row.contains("hermes"), "{calls_row}");
    let words_row = rows.iter().find(|r| r.starts_with("answer.gguf")).unwrap();
    assert!(words_row.contains(&format!("0/{no_tool}")), "{words_row}");
    assert!(rows.iter().any(|r| r.starts_with("missing.gguf") && r.contains("failed: missing")), "{table}");
}
