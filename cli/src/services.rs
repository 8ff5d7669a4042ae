//! The services built into the `hearth` binary, by name. ASR and the LLM have binaries of their own
//! (`hearth-asr`, `hearth-llm`) because whisper.cpp and llama.cpp each bundle ggml and cannot link
//! into one program.

use std::process::ExitCode;

use anyhow::{bail, Context};
use hearth_node::{serve, NodeFile};

/// Services `hearth service NAME` runs in this binary.
pub const BUILT_IN: &[&str] = &["audio", "wake", "listen", "brain", "timers", "tools", "tts", "ha"];

/// Services with their own binary, and the binary's name.
pub const EXTERNAL: &[(&str, &str)] = &[("asr", "hearth-asr"), ("llm", "hearth-llm")];

/// Runs the built-in service `name` until SIGINT/SIGTERM.
pub async fn run(file: &NodeFile, name: &str) -> anyhow::Result<ExitCode> {
    match name {
        "audio" => {
            let config = hearth_audio::AudioConfig::from_node(file)?;
            serve(file, "audio", |bus, shutdown| hearth_audio::run(config, bus, shutdown)).await?;
        }
        "wake" => {
            let config = hearth_wake::WakeConfig::load(file)?;
            serve(file, "wake", |bus, shutdown| hearth_wake::run(config, bus, shutdown)).await?;
        }
        "listen" => {
            let config = hearth_listen::ListenConfig::load(file)?;
            serve(file, "listen", |bus, shutdown| hearth_listen::run(config, bus, shutdown)).await?;
        }
        "brain" => {
            let config: hearth_brain::BrainConfig = file.section("brain")?;
            config.validate().map_err(|(key, why)| file.invalid(key, why))?;
            serve(file, "brain", |bus, shutdown| hearth_brain::run(config, bus, shutdown)).await?;
        }
        "timers" => {
            let config: hearth_timers::TimersConfig = file.section("timers")?;
            let store = config.store(&file.node.data_dir);
            serve(file, "timers", |bus, shutdown| hearth_timers::run(store, bus, shutdown)).await?;
        }
        "tools" => {
            let config = hearth_tools::ToolsConfig::load(file)?;
            serve(file, "tools", |bus, shutdown| hearth_tools::run(config, bus, shutdown)).await?;
        }
        "tts" => {
            let config = hearth_tts::TtsConfig::from_node(file)?;
            serve(file, "tts", |bus, shutdown| hearth_tts::run(config, bus, shutdown)).await?;
        }
        "ha" => {
            let config: hearth_ha::HaConfig = file.section("ha")?;
            serve(file, "ha", |bus, shutdown| hearth_ha::run(config, bus, shutdown)).await?;
        }
        other => {
            if let Some((_, binary)) = EXTERNAL.iter().find(|(n, _)| *n == other) {
                bail!("`{other}` runs as its own program: `{binary} run`");
            }
            return Err(anyhow::anyhow!("unknown service `{other}`")).context(format!("known services: {}", BUILT_IN.join(", ")));
        }
    }
    Ok(ExitCode::SUCCESS)
}
