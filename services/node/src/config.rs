//! The node config file.

use std::path::{Path, PathBuf};

use hearth_bus::BusConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {source}")]
    // Boxed: toml's error is large, and every config loader returns this type.
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("config file {path}, table [{section}]: {source}")]
    Section { path: PathBuf, section: String, source: Box<toml::de::Error> },
    #[error("config file {path}: `{key}` {why}")]
    Invalid { path: PathBuf, key: String, why: String },
}

/// The settings every process of a node shares.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NodeConfig {
    /// The room or satellite this node serves; one level of every topic.
    pub site: String,
    /// Where durable state (timers, LLM prefix cache) and, by default, models live.
    pub data_dir: PathBuf,
    /// Where models are looked for (default `<data_dir>/models`). May be an NFS mount: engines read
    /// weights into RAM rather than memory-mapping them.
    pub models_dir: Option<PathBuf>,
    pub bus: BusConfig,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            site: hearth_bus::topic::DEFAULT_SITE.into(),
            data_dir: default_data_dir(),
            models_dir: None,
            bus: BusConfig::default(),
        }
    }
}

impl NodeConfig {
    pub fn models_dir(&self) -> PathBuf {
        self.models_dir.clone().unwrap_or_else(|| self.data_dir.join("models"))
    }
}

/// A parsed node file: the common part plus the raw tables for each service to take its own.
#[derive(Debug, Clone)]
pub struct NodeFile {
    /// Where it came from; `None` when running on defaults.
    pub path: Option<PathBuf>,
    pub node: NodeConfig,
    raw: toml::Table,
}

impl NodeFile {
    /// Reads `path` if given, else the first of `$HEARTH_CONFIG`, `~/.config/hearth/hearth.toml`,
    /// `/etc/hearth/hearth.toml` that exists, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<NodeFile, ConfigError> {
        match path.map(Path::to_path_buf).or_else(find_default_file) {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|source| ConfigError::Read { path: p.clone(), source })?;
                Self::parse(&text, Some(p))
            }
            None => Self::parse("", None),
        }
    }

    /// Parses config text (for tests and `hearth config`).
    pub fn parse(text: &str, path: Option<PathBuf>) -> Result<NodeFile, ConfigError> {
        let shown = path.clone().unwrap_or_else(|| PathBuf::from("<defaults>"));
        let raw: toml::Table = toml::from_str(text).map_err(|source| ConfigError::Parse { path: shown.clone(), source: Box::new(source) })?;
        // The common part ignores service tables; each service validates its own.
        let mut common = toml::Table::new();
        for key in ["site", "data_dir", "models_dir", "bus"] {
            if let Some(v) = raw.get(key) {
                common.insert(key.into(), v.clone());
            }
        }
        let node: NodeConfig = common
            .try_into()
            .map_err(|source| ConfigError::Section { path: shown.clone(), section: "bus / top level".into(), source: Box::new(source) })?;
        hearth_bus::topic::validate_site(&node.site)
            .map_err(|why| ConfigError::Invalid { path: shown.clone(), key: "site".into(), why })?;
        node.bus.validate().map_err(|e| ConfigError::Invalid { path: shown.clone(), key: "bus".into(), why: e.to_string() })?;
        Ok(NodeFile { path, node, raw })
    }

    /// The service table `[name]`, with the service's defaults for anything missing. Unknown keys are
    /// an error when the service's struct denies them, naming the table.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, ConfigError> {
        match self.raw.get(name) {
            None => Ok(T::default()),
            Some(value) => value.clone().try_into().map_err(|source| ConfigError::Section {
                path: self.path.clone().unwrap_or_else(|| PathBuf::from("<defaults>")),
                section: name.into(),
                source: Box::new(source),
            }),
        }
    }

    /// The whole file as a TOML table (for tools that derive a config from it, like `hearth up`).
    pub fn table(&self) -> &toml::Table {
        &self.raw
    }

    /// Whether the file has a table `[name]`.
    pub fn has_section(&self, name: &str) -> bool {
        self.raw.contains_key(name)
    }

    /// An error naming `key` in this file, for service-level validation.
    pub fn invalid(&self, key: impl Into<String>, why: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone().unwrap_or_else(|| PathBuf::from("<defaults>")),
            key: key.into(),
            why: why.into(),
        }
    }
}

fn find_default_file() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("HEARTH_CONFIG") {
        candidates.push(PathBuf::from(p));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".config/hearth/hearth.toml"));
    }
    candidates.push(PathBuf::from("/etc/hearth/hearth.toml"));
    candidates.into_iter().find(|p| p.is_file())
}

/// `$HEARTH_DATA_DIR`, else `$XDG_DATA_HOME/hearth`, else `~/.local/share/hearth`, else `/var/lib/hearth`.
pub fn default_data_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("HEARTH_DATA_DIR") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(p).join("hearth");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".local/share/hearth");
    }
    PathBuf::from("/var/lib/hearth")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Demo {
        threads: u32,
    }

    #[test]
    fn defaults_without_a_file() {
        let f = NodeFile::parse("", None).unwrap();
        assert_eq!(f.node.site, "default");
        assert_eq!(f.node.bus.port, 1883);
        assert_eq!(f.section::<Demo>("demo").unwrap(), Demo::default());
    }

    #[test]
    fn sections_and_errors_name_the_key() {
        let f = NodeFile::parse("site = \"kitchen\"\n[demo]\nthreads = 3\n[other]\nx = 1\n", None).unwrap();
        assert_eq!(f.node.site, "kitchen");
        assert_eq!(f.section::<Demo>("demo").unwrap().threads, 3);
        let bad = NodeFile::parse("[demo]\nthreadz = 3\n", None).unwrap();
        let err = bad.section::<Demo>("demo").unwrap_err().to_string();
        assert!(err.contains("[demo]") && err.contains("threadz"), "{err}");
        let err = NodeFile::parse("site = \"a/b\"", None).unwrap_err().to_string();
        assert!(err.contains("`site`"), "{err}");
        let err = NodeFile::parse("[bus]\nport = 0\n", None).unwrap_err().to_string();
        assert!(err.contains("bus.port"), "{err}");
    }
}
