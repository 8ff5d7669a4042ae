//! The `[music]` table of the node file.
//!
//! ```toml
//! [music]
//! library_dir = "/mnt/nas/music"   # default ~/Music
//! radio = true                     # internet radio when the library has no match
//! radio_directory_url = "https://all.api.radio-browser.info"
//! ```

use std::path::{Path, PathBuf};

use hearth_node::config::ConfigError;
use hearth_node::NodeFile;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MusicConfig {
    /// The library folder (local disk or a mounted share). Default `~/Music`.
    pub library_dir: Option<PathBuf>,
    /// Rescan the library this often, seconds (0: only at start). A rescan opens only new and
    /// changed files.
    pub rescan_interval_s: u64,
    /// Most audio sent ahead of what the speaker has played, milliseconds: the buffer that rides
    /// out the network, and how much a stalled speaker can hold.
    pub lead_ms: u32,
    /// Audio per `music/chunk`, milliseconds.
    pub chunk_ms: u32,
    /// Sample rate sent until the site's audio service says its speaker's rate, Hertz.
    pub default_rate_hz: u32,
    /// Whether internet radio is the fallback when the library has no match.
    pub radio: bool,
    /// Base URL of a radio-browser API server (keyless, public; any mirror, or a local one).
    pub radio_directory_url: String,
    /// Time limit of one directory lookup, of connecting to a station, and the longest silence of a
    /// playing station, milliseconds. A whole radio request answers within 8 s whatever this is.
    pub radio_timeout_ms: u64,
    /// Where the index lives: the node's `data_dir`. Set by [`MusicConfig::from_node`].
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
}

impl Default for MusicConfig {
    fn default() -> Self {
        Self {
            library_dir: None,
            rescan_interval_s: 3600,
            lead_ms: 1500,
            chunk_ms: 100,
            default_rate_hz: 48_000,
            radio: true,
            radio_directory_url: "https://all.api.radio-browser.info".into(),
            radio_timeout_ms: 4000,
            data_dir: None,
        }
    }
}

impl MusicConfig {
    #[allow(clippy::result_large_err)]
    pub fn from_node(file: &NodeFile) -> Result<MusicConfig, ConfigError> {
        let mut config: MusicConfig = file.section("music")?;
        config.validate().map_err(|(key, why)| file.invalid(format!("music.{key}"), why))?;
        config.data_dir = Some(file.node.data_dir.clone());
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(200..=30_000).contains(&self.lead_ms) {
            return Err(("lead_ms", format!("is {}, must be 200 to 30000", self.lead_ms)));
        }
        if !(10..=1000).contains(&self.chunk_ms) || self.chunk_ms * 2 > self.lead_ms {
            return Err(("chunk_ms", format!("is {}, must be 10 to 1000 and at most half of lead_ms", self.chunk_ms)));
        }
        if !(8_000..=192_000).contains(&self.default_rate_hz) {
            return Err(("default_rate_hz", format!("is {}, must be 8000 to 192000", self.default_rate_hz)));
        }
        if self.radio && !(self.radio_directory_url.starts_with("http://") || self.radio_directory_url.starts_with("https://")) {
            return Err(("radio_directory_url", "must start with http:// or https://".into()));
        }
        Ok(())
    }

    /// The library folder: `library_dir`, else `~/Music`.
    pub fn library(&self) -> PathBuf {
        self.library_dir.clone().unwrap_or_else(|| {
            std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/")).join("Music")
        })
    }

    /// `<data_dir>/music/index.json`, or `None` when the index is kept in memory only.
    pub fn index_path(&self) -> Option<PathBuf> {
        self.data_dir.as_deref().map(index_path_in)
    }
}

pub fn index_path_in(data_dir: &Path) -> PathBuf {
    data_dir.join("music").join("index.json")
}
