//! The services built into the `hearth` binary, by name. ASR and the LLM have binaries of their own
//! (`hearth-asr`, `hearth-llm`) because whisper.cpp and llama.cpp each bundle ggml and cannot link
//! into one program.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use hearth_node::{serve, NodeFile};
use serde::{Deserialize, Serialize};

/// Services `hearth service NAME` runs in this binary.
pub const BUILT_IN: &[&str] = &["audio", "wake", "listen", "brain", "timers", "tools", "tts", "ha", "web", "music"];


/// Services with their own binary, and the binary's name.
pub const EXTERNAL: &[(&str, &str)] = &[("asr", "hearth-asr"), ("llm", "hearth-llm")];

/// The `[up]` table: what `hearth up` starts on this machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpConfig {
    /// Start the embedded broker.
    pub broker: bool,
    /// Services to start; default every one this build knows.
    pub services: Vec<String>,
    /// Longest wait between restarts of a failing service, seconds.
    pub restart_max_delay_s: u64,
}

impl Default for UpConfig {
    fn default() -> Self {
        let mut services: Vec<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
        services.extend(EXTERNAL.iter().map(|(s, _)| s.to_string()));
        Self { broker: true, services, restart_max_delay_s: 30 }
    }
}

/// One service `hearth up` means to start, and the program that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    /// The program, or why it is not there (the service then stays off).
    pub program: Result<PathBuf, NotInstalled>,
}

/// A service's own program is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotInstalled {
    pub why: String,
    pub fix: String,
}

/// What `hearth up` starts. The one decision: `hearth up` starts exactly this, and `hearth doctor`
/// checks exactly this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpPlan {
    pub broker: bool,
    pub services: Vec<Planned>,
    pub restart_max_delay_s: u64,
}

impl UpPlan {
    /// The plan as the doctor takes it.
    pub fn for_doctor(&self) -> hearth_doctor::UpServices {
        hearth_doctor::UpServices {
            broker: self.broker,
            services: self.services.iter().map(|p| p.name.clone()).collect(),
            not_installed: self
                .services
                .iter()
                .filter_map(|p| p.program.as_ref().err().map(|n| (p.name.clone(), n.why.clone(), n.fix.clone())))
                .collect(),
        }
    }
}

/// Decides what `hearth up` starts: the `[up]` table (every service by default), narrowed by `only`
/// (`--only`) and without the broker when `no_broker` (`--no-broker`). `hearth` is the program at
/// `hearth_exe`; services with their own binary are looked for beside it.
pub fn up_plan(file: &NodeFile, only: &[String], no_broker: bool, hearth_exe: &Path) -> anyhow::Result<UpPlan> {
    let up: UpConfig = file.section("up")?;
    let mut names = if only.is_empty() { up.services.clone() } else { only.to_vec() };
    // The web satellite is started by default only where someone may log in to it; without users it
    // could only say it is unavailable.
    let listed = !only.is_empty() || file.table().get("up").and_then(|u| u.get("services")).is_some();
    if !listed && !web_users_configured(file) {
        names.retain(|n| n != "web");
    }
    let mut services = Vec::with_capacity(names.len());
    for name in names {
        let program = program_for(&name, hearth_exe)?;
        services.push(Planned { name, program });
    }
    Ok(UpPlan { broker: up.broker && !no_broker, services, restart_max_delay_s: up.restart_max_delay_s })
}

/// Whether `[web.users]` names anyone.
pub fn web_users_configured(file: &NodeFile) -> bool {
    file.table().get("web").and_then(|w| w.get("users")).and_then(toml::Value::as_table).is_some_and(|u| !u.is_empty())
}

/// The program that runs `name`, or why it is not installed; an error for a name no build knows.
fn program_for(name: &str, hearth_exe: &Path) -> anyhow::Result<Result<PathBuf, NotInstalled>> {
    if BUILT_IN.contains(&name) {
        return Ok(Ok(hearth_exe.to_path_buf()));
    }
    let Some((_, binary)) = EXTERNAL.iter().find(|(n, _)| *n == name) else {
        bail!(
            "unknown service `{name}` in [up].services or --only (known: {}, {})",
            BUILT_IN.join(", "),
            EXTERNAL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        );
    };
    let sibling = hearth_exe.with_file_name(binary);
    if sibling.is_file() {
        return Ok(Ok(sibling));
    }
    Ok(Err(NotInstalled {
        why: format!("{binary} is not installed next to {}, so {name} stays off", hearth_exe.display()),
        fix: format!("cargo build --release -p {binary} and put it beside hearth (or run scripts/setup.sh)"),
    }))
}

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
        "web" => {
            let config = hearth_web::WebConfig::load(file)?;
            serve(file, "web", |bus, shutdown| hearth_web::run(config, bus, shutdown)).await?;
        }
        "arbiter" => {
            let config: hearth_wake::ArbiterConfig = file.section("arbiter")?;
            config.validate().map_err(|(key, why)| file.invalid(key, why))?;
            serve(file, "arbiter", |bus, shutdown| hearth_wake::arbiter_service::run(config, bus, shutdown)).await?;
        }
        "ha" => {
            let config: hearth_ha::HaConfig = file.section("ha")?;
            serve(file, "ha", |bus, shutdown| hearth_ha::run(config, bus, shutdown)).await?;
        }
        "music" => {
            let config = hearth_music::MusicConfig::from_node(file)?;
            serve(file, "music", |bus, shutdown| hearth_music::run(config, bus, shutdown)).await?;
        }
        other => {
            if let Some((_, binary)) = EXTERNAL.iter().find(|(n, _)| *n == other) {
                bail!("`{other}` runs as its own program: `{binary} run`");
            }
            return Err(anyhow::anyhow!("unknown service `{other}`"))
                .context(format!("known services: {}, arbiter", BUILT_IN.join(", ")));
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_plan_is_every_service_by_default_and_follows_the_up_table_and_flags() {
        let dir = std::env::temp_dir().join(format!("hearth-up-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let exe = dir.join("hearth");
        let plan = up_plan(&NodeFile::parse("", None).unwrap(), &[], false, &exe).unwrap();
        assert!(plan.broker);
        let names: Vec<&str> = plan.services.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), BUILT_IN.len() + EXTERNAL.len() - 1, "all but web, which has no users");
        let with_web = NodeFile::parse("[web.users]\nalex = \"correct horse\"\n", None).unwrap();
        assert!(up_plan(&with_web, &[], false, &exe).unwrap().services.iter().any(|p| p.name == "web"));
        assert!(names.contains(&"asr") && names.contains(&"tts") && names.contains(&"audio"));
        // No hearth-asr beside this `hearth`: planned, but reported as not installed.
        let asr = plan.services.iter().find(|p| p.name == "asr").unwrap();
        assert!(asr.program.as_ref().unwrap_err().why.contains("hearth-asr"));
        std::fs::write(dir.join("hearth-asr"), "").unwrap();
        let plan = up_plan(&NodeFile::parse("", None).unwrap(), &[], false, &exe).unwrap();
        let asr = plan.services.iter().find(|p| p.name == "asr").unwrap();
        assert_eq!(asr.program, Ok(dir.join("hearth-asr")));
        let doctor = plan.for_doctor();
        assert_eq!(doctor.not_installed.iter().map(|n| n.0.as_str()).collect::<Vec<_>>(), ["llm"]);

        let file = NodeFile::parse("[up]\nbroker = false\nservices = [\"tts\", \"wake\"]\n", None).unwrap();
        let plan = up_plan(&file, &[], false, &exe).unwrap();
        assert!(!plan.broker);
        assert_eq!(plan.for_doctor().names(), ["tts", "wake"]);
        let plan = up_plan(&file, &["brain".to_string()], true, &exe).unwrap();
        assert_eq!(plan.for_doctor().names(), ["brain"]);
        assert!(up_plan(&file, &["nope".to_string()], false, &exe).unwrap_err().to_string().contains("unknown service `nope`"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
