//! Chat templates without a model: Hearth's rendering of the Qwen3, Llama 3.2, Gemma 3 and Granite 3.3
//! templates (services/llm/templates) against Python jinja2 configured as transformers configures it
//! (templates/reference.py, the oracle) and against the renderings committed in templates/expected; and the
//! cached prefix is a strict prefix of every conversation in every family.
//!
//! `HEARTH_BLESS=1` rewrites templates/expected from the oracle.

use std::path::PathBuf;

use chrono::{FixedOffset, TimeZone};
use hearth_bus::llm::{ChatMessage, Role};
use hearth_bus::tool::catalog;
use hearth_llm::prompt::{self, ChatPrompt, ModelFormat, PromptSpec, SpecialTokens, TemplateEngine, SYSTEM_PROMPT};
use hearth_llm::tool_format::{ToolFormat, ToolFormatChoice};
use hearth_llm::LlmConfig;

fn templates_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/templates"))
}

/// (name, architecture it is built in for, bos, eos, tool format expected)
const FAMILIES: &[(&str, &str, &str, &str, Option<ToolFormat>)] = &[
    ("qwen3", "qwen3", "", "<|im_end|>", Some(ToolFormat::Hermes)),
    ("llama3.2", "llama", "<|begin_of_text|>", "<|eot_id|>", Some(ToolFormat::Llama3)),
    ("gemma3", "gemma3", "<bos>", "<eos>", Some(ToolFormat::Json)),
    ("granite3.3", "granite", "<|end_of_text|>", "<|end_of_text|>", Some(ToolFormat::Granite)),
];

const NOW: (i32, u32, u32) = (2026, 3, 5);

fn msg(role: Role, content: &str) -> ChatMessage {
    ChatMessage { role, content: content.into() }
}

fn conversations() -> Vec<(&'static str, Vec<ChatMessage>)> {
    vec![
        ("one-turn", vec![msg(Role::User, "What's the weather in Paris?")]),
        (
            "tool-follow-up",
            vec![
                msg(Role::User, "Weather in Paris?"),
                msg(Role::Tool, "{\"location\": \"Paris\", \"temperature_c\": 21, \"summary\": \"sunny\"}"),
                msg(Role::Assistant, "It is sunny and 21 degrees in Paris."),
                msg(Role::User, "And tomorrow?"),
            ],
        ),
        ("chat", vec![msg(Role::User, "Hi"), msg(Role::Assistant, "Hello! How can I help?"), msg(Role::User, "Tell me a joke, «s'il vous plaît».")]),
    ]
}

fn chat_prompt(family: &str, tool_format: ToolFormatChoice) -> ChatPrompt {
    let (name, arch, bos, eos, _) = FAMILIES.iter().find(|f| f.0 == family).unwrap();
    let (built_in, source) = prompt::built_in_template(arch).unwrap();
    assert_eq!(&built_in, name);
    ChatPrompt::new(PromptSpec {
        template: source,
        engine: TemplateEngine::Jinja,
        origin: format!("{name}.jinja"),
        tool_format,
        system_prompt: SYSTEM_PROMPT,
        tools: catalog(),
        special: SpecialTokens { bos: bos.to_string(), eos: eos.to_string() },
        now: FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(NOW.0, NOW.1, NOW.2, 9, 0, 0).unwrap(),
    })
    .unwrap_or_else(|e| panic!("{family}: {e}"))
}

/// One rendering to check: Hearth's text and the oracle's request.
struct Case {
    id: String,
    template: String,
    text: String,
    context_json: String,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut variants: Vec<(&str, ToolFormatChoice, &str)> = FAMILIES.iter().map(|f| (f.0, ToolFormatChoice::Auto, "")).collect();
    variants.push(("qwen3", ToolFormatChoice::None, "-no-tools"));
    for (family, choice, suffix) in variants {
        let prompt = chat_prompt(family, choice);
        for (name, messages) in conversations() {
            let turn = prompt.conversation(&messages).unwrap_or_else(|e| panic!("{family} {name}: {e}"));
            let text = format!("{}{}", prompt.prefix_text(), prompt::text(&turn));
            out.push(Case {
                id: format!("{family}{suffix}-{name}"),
                template: format!("{family}.jinja"),
                text,
                context_json: serde_json::to_string(&prompt.context(&messages)).unwrap(),
            });
        }
    }
    out
}

#[test]
fn every_family_finds_its_tool_format_and_keeps_a_strict_prefix() {
    for (family, _, _, _, format) in FAMILIES {
        let prompt = chat_prompt(family, ToolFormatChoice::Auto);
        assert_eq!(prompt.tool_format(), *format, "{family}");
        assert!(prompt.notices().is_empty(), "{family}: {:?}", prompt.notices());
        let prefix = prompt.prefix_text();
        assert!(prefix.contains("You are Hearth"), "{family}: the system prompt is in the prefix");
        assert!(prefix.contains("get_weather") && prefix.contains("duration_seconds"), "{family}: so are the tools");
        for (name, messages) in conversations() {
            // [system + tools] renders to a strict prefix of the same with a turn appended, for any turn.
            for end in 1..=messages.len() {
                let turn = prompt.conversation(&messages[..end]).unwrap();
                assert!(!prompt::text(&turn).is_empty(), "{family} {name}");
                assert!(!turn[0].markup, "{family} {name}: the turn starts with the user's words: {turn:?}");
            }
        }
    }
    let no_tools = chat_prompt("qwen3", ToolFormatChoice::None);
    assert!(no_tools.tools().is_empty() && !no_tools.prefix_text().contains("get_weather"));
}

/// A template Hearth's Jinja cannot render (an unknown filter) but whose family llama.cpp recognises by its
/// markup: llama.cpp writes the prompt, without tools, and the prefix still holds.
#[test]
fn a_template_only_llama_cpp_can_render_still_gives_a_cached_prompt_without_tools() {
    let source = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | wordcount }}<|im_end|>\n{% endfor %}\
                  {% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    let spec = |engine| PromptSpec {
        template: source,
        engine,
        origin: "odd.jinja".into(),
        tool_format: ToolFormatChoice::Auto,
        system_prompt: "Be brief.",
        tools: catalog(),
        special: SpecialTokens::default(),
        now: FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(NOW.0, NOW.1, NOW.2, 9, 0, 0).unwrap(),
    };
    let err = ChatPrompt::new(spec(TemplateEngine::Jinja)).err().expect("Jinja rendering fails").to_string();
    assert!(err.contains("odd.jinja") && err.contains("wordcount"), "{err}");
    let prompt = ChatPrompt::new(spec(TemplateEngine::LlamaCpp)).unwrap();
    assert!(prompt.tools().is_empty() && prompt.tool_format().is_none());
    assert_eq!(prompt.prefix_text(), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n");
    let turn = prompt.conversation(&conversations()[1].1).unwrap();
    assert_eq!(
        prompt::text(&turn),
        "Weather in Paris?<|im_end|>\n<|im_start|>user\nTool result: {\"location\": \"Paris\", \"temperature_c\": 21, \"summary\": \"sunny\"}<|im_end|>\n\
         <|im_start|>assistant\nIt is sunny and 21 degrees in Paris.<|im_end|>\n<|im_start|>user\nAnd tomorrow?<|im_end|>\n<|im_start|>assistant\n"
    );
}

/// Where the template comes from: the GGUF's own, else the one built in for the architecture, else llama.cpp's
/// support for the GGUF's template without tools, else a message that says what to set; each fallback noticed.
#[test]
fn a_model_without_a_usable_template_falls_back_and_says_so() {
    let now = FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(NOW.0, NOW.1, NOW.2, 9, 0, 0).unwrap();
    let model = |architecture: &str, chat_template: Option<&str>| ModelFormat {
        file: "m.gguf".into(),
        architecture: architecture.into(),
        chat_template: chat_template.map(String::from),
        special: SpecialTokens { bos: "<bos>".into(), eos: "<eos>".into() },
    };
    let config = LlmConfig::default();
    let for_model = |m: &ModelFormat| ChatPrompt::for_model(m, &config, catalog(), now);

    let own = for_model(&model("gemma3", Some(prompt::built_in_template("qwen3").unwrap().1))).unwrap();
    assert!(own.notices().is_empty() && own.tool_format() == Some(ToolFormat::Hermes), "the GGUF's own template wins");

    let gemma = for_model(&model("gemma3", None)).unwrap();
    assert_eq!(gemma.notices(), ["m.gguf has no chat template; using Hearth's built-in gemma3 template for gemma3 models"]);
    assert_eq!(gemma.tool_format(), Some(ToolFormat::Json));

    let broken = for_model(&model("qwen3", Some("{% if %}"))).unwrap();
    assert!(broken.notices()[0].starts_with("the chat template of m.gguf: the chat template does not parse"), "{:?}", broken.notices());
    assert!(broken.notices()[0].ends_with("using Hearth's built-in qwen3 template for qwen3 models"));
    assert_eq!(broken.tools().len(), catalog().len());

    let odd = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | wordcount }}<|im_end|>\n{% endfor %}";
    let by_llama_cpp = for_model(&model("mystery", Some(odd))).unwrap();
    assert!(by_llama_cpp.tools().is_empty());
    assert!(by_llama_cpp.notices()[0].contains("llama.cpp's own support") && by_llama_cpp.notices()[0].contains("without tools"));

    let err = for_model(&model("mystery", None)).err().expect("no template at all").to_string();
    assert_eq!(err, "m.gguf has no chat template, and Hearth has none built in for mystery models: set [llm] chat_template to a Jinja chat template file");
}

#[test]
fn gemma_gets_tool_results_as_user_turns_and_alternating_roles() {
    let prompt = chat_prompt("gemma3", ToolFormatChoice::Auto);
    let messages = &conversations()[1].1;
    let text = format!("{}{}", prompt.prefix_text(), prompt::text(&prompt.conversation(messages).unwrap()));
    assert!(text.starts_with("<bos><start_of_turn>user\nYou are Hearth"), "{text}");
    assert!(text.contains("reply with only this JSON object and nothing else"), "{text}");
    assert!(text.contains("Weather in Paris?\n\nTool result: {\"location\": \"Paris\""), "{text}");
    assert!(text.ends_with("<start_of_turn>user\nAnd tomorrow?<end_of_turn>\n<start_of_turn>model\n"), "{text}");
}

#[test]
fn renderings_match_python_jinja2_and_the_committed_references() {
    let cases = cases();
    let expected_dir = templates_dir().join("expected");
    let oracle = run_oracle(&cases);
    let bless = std::env::var_os("HEARTH_BLESS").is_some();
    if bless {
        let oracle = oracle.as_ref().expect("HEARTH_BLESS needs python with jinja2");
        std::fs::create_dir_all(&expected_dir).unwrap();
        for (case, reference) in cases.iter().zip(oracle) {
            std::fs::write(expected_dir.join(format!("{}.txt", case.id)), reference).unwrap();
        }
    }
    for (i, case) in cases.iter().enumerate() {
        let file = expected_dir.join(format!("{}.txt", case.id));
        let committed = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e} (write it with HEARTH_BLESS=1 and jinja2 installed)", file.display()));
        assert_eq!(case.text, committed, "{}: Hearth's rendering differs from {}", case.id, file.display());
        if let Some(oracle) = &oracle {
            assert_eq!(case.text, oracle[i], "{}: Hearth's rendering differs from Python jinja2's", case.id);
        }
    }
}

/// Python jinja2's renderings of every case, or `None` (with a message) where jinja2 is missing outside CI.
fn run_oracle(cases: &[Case]) -> Option<Vec<String>> {
    let python = std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_jinja = std::process::Command::new(&python).args(["-c", "import jinja2"]).status().is_ok_and(|s| s.success());
    if !has_jinja {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI needs `pip install jinja2` (scripts/test-requirements.txt)");
        eprintln!("skipping the jinja2 oracle: {python} has no jinja2 (pip install jinja2); comparing with the committed renderings only");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let requests = dir.path().join("requests.json");
    let now = format!("{:04}-{:02}-{:02}T09:00:00+00:00", NOW.0, NOW.1, NOW.2);
    let body: Vec<String> = cases
        .iter()
        .map(|c| format!("{{\"template\": {:?}, \"now\": {:?}, \"context\": {}}}", c.template, now, c.context_json))
        .collect();
    std::fs::write(&requests, format!("[{}]", body.join(",\n"))).unwrap();
    let out = std::process::Command::new(&python).arg(templates_dir().join("reference.py")).arg(&requests).output().unwrap();
    assert!(out.status.success(), "reference.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let rendered: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    Some(
        rendered
            .into_iter()
            .zip(cases)
            .map(|(r, c)| r.as_str().unwrap_or_else(|| panic!("{}: jinja2 failed: {r}", c.id)).to_string())
            .collect(),
    )
}
