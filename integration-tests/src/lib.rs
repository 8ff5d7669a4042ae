//! Helpers for Hearth's whole-system tests: the shared test kit (broker, services, probe, `../shared`),
//! plus the assistants and turns these tests build from it. The tests themselves live in `tests/`.

pub use hearth_e2e::speech;
pub use hearth_testkit::*;

use hearth_bus::BusConfig;

/// The text-only assistant (brain, timers, tools) in this process, with state under `data`.
pub async fn start_text_assistant(bus: &BusConfig, data: &std::path::Path) -> Vec<RunningService> {
    let store = hearth_timers::TimersConfig::default().store(data);
    vec![
        start_service(bus, "brain", "default", |b, s| hearth_brain::run(hearth_brain::BrainConfig::default(), b, s)).await,
        start_service(bus, "timers", "default", move |b, s| hearth_timers::run(store, b, s)).await,
        start_service(bus, "tools", "default", |b, s| hearth_tools::run(hearth_tools::ToolsConfig::default(), b, s)).await,
    ]
}

/// Publishes a typed transcript at `site` and returns its session id.
pub async fn ask(probe: &Probe, site: &str, text: &str) -> String {
    let session_id = hearth_bus::ids::new_id();
    let t = hearth_bus::asr::Transcript {
        session_id: session_id.clone(),
        text: text.into(),
        source: hearth_bus::asr::TranscriptSource::Typed,
        audio_ms: 0,
        processing_ms: 0,
    };
    probe.client.publish(site, &t).await.expect("publish transcript");
    session_id
}

/// `hearth up` options for a whole voice turn: the real openWakeWord front end and "hey jarvis" and the
/// real Silero VAD from `../shared/models`, a whisper model that hears `phrase` (generated here), the
/// language model `llm` from `fixtures/llm` if any, and `voice`. `None` (after saying so) when the models
/// in `../shared` are missing outside CI.
pub fn voice_rig(dir: &std::path::Path, phrase: &str, llm: Option<&str>, voice: hearth_e2e::Voice) -> Option<hearth_e2e::RigOptions> {
    shared_file("models/openwakeword/melspectrogram.onnx")?;
    let models = shared_dir()?.join("models");
    let whisper = dir.join("whisper-phrase.bin");
    hearth_e2e::phrase_whisper(phrase, "fixture", &whisper).expect("generate the whisper model");
    Some(hearth_e2e::RigOptions {
        hearth: workspace_binary("hearth"),
        models,
        wake_word: "hey_jarvis_v0.1.onnx".into(),
        whisper,
        llm: llm.map(|name| hearth_e2e::fixtures_dir().join("llm").join(name)),
        voice,
        noise: None,
        follow_up_ms: 0,
        overrides: toml::Table::new(),
        work_dir: dir.to_path_buf(),
        wait: WAIT,
    })
}

/// The wake word, a short pause, then `request`, as 16 kHz samples.
pub fn wake_and(request: &[i16], dir: &std::path::Path) -> Vec<i16> {
    let mut audio = speech::speak("hey jarvis", "en-us", dir);
    audio.extend(speech::silence(0.4));
    audio.extend_from_slice(request);
    audio
}

/// The real weights `scripts/fetch-real-models.sh` fetched (`$HEARTH_REAL_MODELS`, else
/// `$HEARTH_CACHE/real-models`, else `~/.cache/hearth/real-models`), when every file in `needed` is there;
/// skips otherwise.
pub fn real_models(needed: &[&str]) -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let cache = std::env::var_os("HEARTH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/hearth"));
    let dir = std::env::var_os("HEARTH_REAL_MODELS").map(PathBuf::from).unwrap_or(cache.join("real-models"));
    match needed.iter().find(|p| !dir.join(p).is_file()) {
        Some(missing) => skip(format!("{} is missing: run scripts/fetch-real-models.sh", dir.join(missing).display())),
        None => Some(dir),
    }
}
