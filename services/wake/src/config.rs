//! The `[wake]` table of the node file.
//!
//! ```toml
//! [wake]
//! words = [{ model = "hey_jarvis", threshold = 0.5 }, { model = "alexa_v0.1.onnx", patience = 2 }]
//! barge_in = false
//! sites = ["kitchen"]   # default: the node's own site; "*" for every site
//! ```

use std::path::{Path, PathBuf};

use hearth_node::config::ConfigError;
use hearth_node::{NodeConfig, NodeFile};
use serde::{Deserialize, Serialize};

use crate::detector::{DetectorSpec, WordSpec};
use crate::onnx;

/// The command that installs the openWakeWord models, named in every "model missing" status.
pub const PULL_COMMAND: &str = "hearth models pull openwakeword openwakeword-words";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WakeConfig {
    /// Whether detection is on at a site that has never been switched; `wake/set` switches it at run
    /// time, and the switch is stored (under `data_dir`) and wins over this on restart.
    pub enabled: bool,
    /// Directory of the openWakeWord models (front end and words). Default `<models_dir>/openwakeword`.
    pub model_dir: Option<PathBuf>,
    /// The words to listen for, all at once.
    pub words: Vec<WordConfig>,
    /// Keep listening while the assistant speaks; a detection then also stops playback (`audio/stop`).
    /// Off by default: without echo cancellation the assistant's own voice can wake it.
    pub barge_in: bool,
    /// The ONNX Runtime shared library. Default `$ORT_DYLIB_PATH`, else `<data_dir>/lib/libonnxruntime.so`.
    pub onnxruntime: Option<PathBuf>,
    /// Intra-op threads per model; 1 is cheapest on a Raspberry Pi.
    pub threads: usize,
    /// The sites whose microphones this service listens to: empty (the default) is the node's own
    /// site, `["*"]` every site (one machine for the whole house and its web satellites).
    pub sites: Vec<String>,
    /// Where the on/off switch of each site is stored: the node's `data_dir`. Set by
    /// [`WakeConfig::load`]; `None` keeps the switches in memory only.
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
}

/// One wake word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordConfig {
    /// The classifier: a file in `model_dir` (`hey_jarvis_v0.1.onnx`), a name whose newest version is
    /// used (`hey_jarvis`), or an absolute path to any community openWakeWord `.onnx`.
    pub model: String,
    /// Name published on `wake/detected`; default the file name without extension and `_v<version>`.
    #[serde(default)]
    pub name: Option<String>,
    /// Score, 0 to 1, at or above which an 80 ms step counts.
    #[serde(default = "default_threshold")]
    pub threshold: f32,
    /// Consecutive 80 ms steps at or above the threshold before the word fires.
    #[serde(default = "default_patience")]
    pub patience: u32,
    /// Quiet period after a detection, milliseconds.
    #[serde(default = "default_refractory_ms")]
    pub refractory_ms: u32,
}

fn default_threshold() -> f32 {
    0.5
}
fn default_patience() -> u32 {
    1
}
fn default_refractory_ms() -> u32 {
    2000
}

impl WordConfig {
    pub fn new(model: &str) -> Self {
        WordConfig {
            model: model.into(),
            name: None,
            threshold: default_threshold(),
            patience: default_patience(),
            refractory_ms: default_refractory_ms(),
        }
    }
}

impl Default for WakeConfig {
    fn default() -> Self {
        WakeConfig {
            enabled: true,
            model_dir: None,
            words: vec![WordConfig::new("hey_jarvis")],
            barge_in: false,
            onnxruntime: None,
            threads: 1,
            sites: Vec::new(),
            data_dir: None,
        }
    }
}

impl WakeConfig {
    /// Reads and validates `[wake]`, filling in the directories from the node settings.
    pub fn load(file: &NodeFile) -> Result<WakeConfig, ConfigError> {
        let config: WakeConfig = file.section("wake")?;
        config.validate().map_err(|(key, why)| file.invalid(key, why))?;
        Ok(config.with_node_defaults(&file.node))
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.words.is_empty() {
            return Err(("wake.words".into(), "must list at least one word".into()));
        }
        let mut names = Vec::new();
        for (i, w) in self.words.iter().enumerate() {
            if w.model.trim().is_empty() {
                return Err((format!("wake.words[{i}].model"), "must not be empty".into()));
            }
            if !(w.threshold > 0.0 && w.threshold <= 1.0) {
                return Err((format!("wake.words[{i}].threshold"), format!("{} must be above 0 and at most 1", w.threshold)));
            }
            if w.patience == 0 || w.patience > 50 {
                return Err((format!("wake.words[{i}].patience"), "must be 1 to 50 steps of 80 ms".into()));
            }
            if w.refractory_ms > 60_000 {
                return Err((format!("wake.words[{i}].refractory_ms"), "must be at most 60000".into()));
            }
            let name = w.word_name();
            if names.contains(&name) {
                return Err((format!("wake.words[{i}]"), format!("the word {name:?} is listed twice")));
            }
            names.push(name);
        }
        if self.threads == 0 || self.threads > 16 {
            return Err(("wake.threads".into(), "must be 1 to 16".into()));
        }
        hearth_bus::topic::Sites::from_list(&self.sites, hearth_bus::topic::DEFAULT_SITE)
            .map_err(|why| ("wake.sites".to_string(), why))?;
        Ok(())
    }

    /// Fills `model_dir` and `onnxruntime` from the node's directories where they are not set.
    pub fn with_node_defaults(mut self, node: &NodeConfig) -> Self {
        self.model_dir.get_or_insert_with(|| node.models_dir().join("openwakeword"));
        let lib = onnx::library_path(self.onnxruntime.as_deref(), &node.data_dir);
        self.onnxruntime = Some(lib);
        self.data_dir = Some(node.data_dir.clone());
        self
    }

    /// Where the switches are stored, `<data_dir>/wake/state.json`.
    pub fn state_path(&self) -> Option<PathBuf> {
        self.data_dir.as_deref().map(crate::state::state_path_in)
    }

    pub fn model_dir(&self) -> PathBuf {
        self.model_dir.clone().unwrap_or_else(|| NodeConfig::default().models_dir().join("openwakeword"))
    }

    pub fn onnxruntime(&self) -> PathBuf {
        onnx::library_path(self.onnxruntime.as_deref(), &NodeConfig::default().data_dir)
    }

    /// The engine's files, or the list of missing model files (for the `unavailable` status).
    pub fn detector_spec(&self) -> Result<DetectorSpec, Vec<PathBuf>> {
        let dir = self.model_dir();
        let mut missing = Vec::new();
        let mut words = Vec::new();
        for w in &self.words {
            match resolve_model(&dir, &w.model) {
                Some(model) => words.push(WordSpec {
                    name: w.word_name(),
                    model,
                    threshold: w.threshold,
                    patience: w.patience,
                    refractory_ms: w.refractory_ms,
                }),
                None => missing.push(dir.join(&w.model)),
            }
        }
        let spec = DetectorSpec { threads: self.threads, ..DetectorSpec::in_dir(&dir, words, self.onnxruntime()) };
        missing.extend([&spec.melspectrogram, &spec.embedding].into_iter().filter(|p| !p.is_file()).cloned());
        if missing.is_empty() { Ok(spec) } else { Err(missing) }
    }
}

impl WordConfig {
    /// The published name: `name`, else the model file name without extension and version suffix.
    pub fn word_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let stem = Path::new(&self.model).file_name().and_then(|s| s.to_str()).unwrap_or(&self.model);
        let stem = stem.strip_suffix(".onnx").unwrap_or(stem);
        match stem.rfind("_v") {
            Some(i) if stem[i + 2..].chars().next().is_some_and(|c| c.is_ascii_digit()) => stem[..i].to_string(),
            _ => stem.to_string(),
        }
    }
}

/// Finds a word's model: an existing path (absolute or in `dir`), `<dir>/<name>.onnx`, or the newest
/// `<dir>/<name>_v<version>.onnx`.
pub fn resolve_model(dir: &Path, model: &str) -> Option<PathBuf> {
    let direct = dir.join(model);
    if direct.is_file() {
        return Some(direct);
    }
    let with_ext = dir.join(format!("{model}.onnx"));
    if with_ext.is_file() {
        return Some(with_ext);
    }
    let prefix = format!("{model}_v");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".onnx"))
        })
        .collect();
    versions.sort();
    versions.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words_and_names_them() {
        let file = NodeFile::parse(
            "[wake]\nwords = [{ model = \"hey_jarvis_v0.1.onnx\" }, { model = \"/x/alexa.onnx\", threshold = 0.7, patience = 2 }, { model = \"timer\", name = \"kitchen_timer\" }]\n",
            None,
        )
        .unwrap();
        let c = WakeConfig::load(&file).unwrap();
        let names: Vec<String> = c.words.iter().map(WordConfig::word_name).collect();
        assert_eq!(names, ["hey_jarvis", "alexa", "kitchen_timer"]);
        assert_eq!(c.words[1].patience, 2);
        assert_eq!(c.words[0].refractory_ms, 2000);
        assert!(c.model_dir.unwrap().ends_with("models/openwakeword"));
    }

    #[test]
    fn errors_name_the_key() {
        let bad = |text: &str| WakeConfig::load(&NodeFile::parse(text, None).unwrap()).unwrap_err().to_string();
        assert!(bad("[wake]\nwords = []\n").contains("wake.words"));
        assert!(bad("[wake]\nwords = [{ model = \"a\", threshold = 1.5 }]\n").contains("wake.words[0].threshold"));
        assert!(bad("[wake]\nwords = [{ model = \"a\" }, { model = \"a_v0.2.onnx\" }]\n").contains("wake.words[1]"));
        assert!(bad("[wake]\nthreads = 0\n").contains("wake.threads"));
        assert!(bad("[wake]\nwordz = 1\n").contains("wordz"));
    }

    #[test]
    fn resolves_versions_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["hey_jarvis_v0.1.onnx", "hey_jarvis_v0.2.onnx", "melspectrogram.onnx"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        assert_eq!(resolve_model(dir.path(), "hey_jarvis").unwrap(), dir.path().join("hey_jarvis_v0.2.onnx"));
        assert!(resolve_model(dir.path(), "alexa").is_none());
        let config = WakeConfig { model_dir: Some(dir.path().into()), ..WakeConfig::default() };
        let missing = config.detector_spec().unwrap_err();
        assert_eq!(missing, vec![dir.path().join("embedding_model.onnx")]);
    }
}
