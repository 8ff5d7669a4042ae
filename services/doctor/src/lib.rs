//! `hearth doctor`: checks that a node can run the services it is meant to run, and prints for each
//! check OK or FAIL with the command that fixes it.
//!
//! Checks, in order: the config file (parses, validates), the broker (resolves, connects with the
//! configured login, gets a ConnAck), each model file the node's services need (at the services'
//! default paths under `models_dir`), whether they fit in memory, the ONNX Runtime library, the sound
//! cards, and espeak-ng.
//! Checks that no service on the node needs are skipped.
//!
//! # Layout
//! - [`report`]: [`Check`], [`Report`] and its printing.
//! - [`broker`]: the broker connection check.
//! - [`files`]: model files, ONNX Runtime, `/proc/asound`, espeak-ng.
//! - [`memory`]: each service's memory plus its weights against the machine's.
//! - [`run`]: which services this node runs, and every check in order.

pub mod broker;
pub mod files;
pub mod memory;
pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hearth_node::NodeFile;

pub use report::{Check, Report, Status};

/// Every service a node can run, as named in `hearth service <name>` and `hearth-<name>.service`.
pub const ALL_SERVICES: &[&str] = &["broker", "ha", "audio", "wake", "listen", "asr", "brain", "timers", "tools", "llm", "tts"];

/// What to check and where to look.
#[derive(Debug, Clone)]
pub struct Options {
    /// The node file; `None` finds it as every service does (`$HEARTH_CONFIG`, ~/.config, /etc).
    pub config: Option<PathBuf>,
    /// The services this node runs; `None` works it out (see [`node_services`]).
    pub services: Option<Vec<String>>,
    /// What `hearth up` starts on this machine, as `hearth up` itself decides it (the `hearth` command
    /// fills this from the same function). Used when no systemd units are installed.
    pub up: Option<UpServices>,
    /// Model paths that differ from the defaults, keyed by [`files::ModelFile::relative`]
    /// (e.g. a `[asr]` model path from the ASR service's config).
    pub model_paths: BTreeMap<String, PathBuf>,
    /// How long to wait for the broker, in total.
    pub broker_timeout: Duration,
    /// Where installed units are looked for (`/etc/systemd/system`).
    pub unit_dir: PathBuf,
    /// ALSA's proc directory (`/proc/asound`).
    pub asound_dir: PathBuf,
    /// Where shared libraries are looked for.
    pub lib_dirs: Vec<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            config: None,
            services: None,
            up: None,
            model_paths: BTreeMap::new(),
            broker_timeout: Duration::from_secs(5),
            unit_dir: PathBuf::from("/etc/systemd/system"),
            asound_dir: PathBuf::from("/proc/asound"),
            lib_dirs: files::library_dirs(),
        }
    }
}

/// What `hearth up` starts: the broker when it runs it, then each service; `not_installed` names the
/// services it skips because their program is missing, with the fix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpServices {
    pub broker: bool,
    pub services: Vec<String>,
    /// `(service, why it stays off, the command that fixes it)`.
    pub not_installed: Vec<(String, String, String)>,
}

impl UpServices {
    /// The broker (when started) followed by the services, as one list of names.
    pub fn names(&self) -> Vec<String> {
        let broker = self.broker.then(|| "broker".to_string());
        broker.into_iter().chain(self.services.iter().cloned()).collect()
    }
}

/// The services to check for, and how that was decided: the explicit list; else the
/// `hearth-<service>.service` units installed in `unit_dir` (systemd runs those, not `hearth up`); else
/// exactly what `hearth up` starts; else every service.
///
/// Service tables in the config file decide nothing: `hearth up` runs every service whether or not its
/// table is there, so a fresh install with an empty config still needs every model.
pub fn node_services(explicit: Option<&[String]>, unit_dir: &Path, up: Option<&UpServices>) -> (Vec<String>, ServicesFrom) {
    if let Some(list) = explicit {
        return (list.to_vec(), ServicesFrom::Asked);
    }
    let installed: Vec<String> = ALL_SERVICES
        .iter()
        .filter(|s| unit_dir.join(format!("hearth-{s}.service")).exists())
        .map(|s| s.to_string())
        .collect();
    if !installed.is_empty() {
        return (installed, ServicesFrom::Units);
    }
    if let Some(up) = up {
        return (up.names(), ServicesFrom::Up);
    }
    (ALL_SERVICES.iter().map(|s| s.to_string()).collect(), ServicesFrom::All)
}

/// How [`node_services`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServicesFrom {
    Asked,
    Units,
    Up,
    All,
}

impl std::fmt::Display for ServicesFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ServicesFrom::Asked => "as asked",
            ServicesFrom::Units => "from the installed systemd units",
            ServicesFrom::Up => "what `hearth up` starts",
            ServicesFrom::All => "all (nothing narrower found)",
        })
    }
}

/// Runs every check.
pub async fn run(options: &Options) -> Report {
    let mut report = Report::default();
    let file = match NodeFile::load(options.config.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            let path = options.config.clone().unwrap_or_else(|| PathBuf::from("/etc/hearth/hearth.toml"));
            report.push(Check::fail("config", e.to_string(), format!("edit {} (see deploy/config/ for examples)", path.display())));
            report.push(Check::skip("others", "need a valid config"));
            return report;
        }
    };
    let (services, how) = node_services(options.services.as_deref(), &options.unit_dir, options.up.as_ref());
    let runs = |s: &str| services.iter().any(|x| x == s);

    report.push(check_config(&file, runs("broker")));
    report.push(Check::ok("services", format!("{} ({how})", services.join(", "))));
    if how == ServicesFrom::Up {
        for (service, why, fix) in options.up.iter().flat_map(|up| &up.not_installed) {
            report.push(Check::fail(format!("program {service}"), why.clone(), fix.clone()));
        }
    }
    report.push(broker::check_broker(&file.node.bus, options.broker_timeout).await);

    let models_dir = file.node.models_dir();
    for model in files::MODEL_FILES {
        if runs(model.service) {
            let custom = options.model_paths.get(model.relative).map(PathBuf::as_path);
            report.push(files::check_model(&models_dir, model, custom));
        }
    }
    if runs("wake") {
        report.push(files::check_wake_words(&models_dir));
    }
    let model_path = |m: &files::ModelFile| options.model_paths.get(m.relative).cloned().unwrap_or_else(|| models_dir.join(m.relative));
    report.push(match memory::total_memory(Path::new("/proc/meminfo")) {
        Some(total) => memory::check_memory(&memory::needs(&services, model_path), total),
        None => Check::skip("memory", "/proc/meminfo unreadable"),
    });

    let ort_users: Vec<&str> = files::ORT_SERVICES.iter().copied().filter(|s| runs(s)).collect();
    if ort_users.is_empty() {
        report.push(Check::skip("onnxruntime", "no service here uses it"));
    } else {
        let from_config = ort_users.iter().find_map(|s| configured_onnxruntime(&file, s));
        let path = files::ort_path(from_config, std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from), &file.node.data_dir);
        report.push(files::check_onnxruntime(&path, &file.node.data_dir));
    }
    report.push(if runs("audio") { files::check_audio(&options.asound_dir) } else { Check::skip("audio", "no audio service here") });
    report.push(if runs("tts") { files::check_espeak(&options.lib_dirs) } else { Check::skip("espeak-ng", "no tts service here") });
    report
}

/// Runs every check, prints the report to stdout and returns whether all is well.
pub async fn run_and_print(options: &Options) -> bool {
    let report = run(options).await;
    let _ = report.print(&mut std::io::stdout().lock());
    report.all_ok()
}

fn check_config(file: &NodeFile, runs_broker: bool) -> Check {
    let shown = file.path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "no file (defaults)".into());
    if runs_broker {
        let broker = file
            .section::<hearth_broker::BrokerConfig>("broker")
            .map_err(|e| e.to_string())
            .and_then(|b| b.validate().map_err(|e| e.to_string()));
        if let Err(why) = broker {
            return Check::fail("config", format!("{shown}: {why}"), format!("fix [broker] in {shown}"));
        }
    }
    Check::ok("config", format!("{shown}: site {}, broker {}", file.node.site, file.node.bus.addr()))
}

/// A service table's `onnxruntime` path, the key `scripts/install-onnxruntime.sh` tells users to set.
fn configured_onnxruntime(file: &NodeFile, service: &str) -> Option<PathBuf> {
    let table: toml::Table = file.section(service).ok()?;
    table.get("onnxruntime")?.as_str().map(PathBuf::from)
}
