//! The `[audio]` table of the node file.
//!
//! ```toml
//! [audio]
//! input = "device"            # "device", "file:/path/to.wav", "stdin", "none"
//! input_device = "USB"        # part of the device name; empty = the system default
//! output = "device"           # "device", "file:/path/to/out.wav", "none"
//! output_device = ""
//! volume_percent = 70         # until someone sets the volume; then the stored value wins
//! input_pacing = "realtime"   # file input: "realtime" or "fast"
//! after_input_file = "silence"  # "silence" (keep sending silence) or "stop"
//! music_duck_db = -20         # music under the assistant's voice and while it listens
//! ```

use std::path::{Path, PathBuf};

use hearth_node::config::ConfigError;
use hearth_node::NodeFile;
use serde::{Deserialize, Serialize};

/// How a file source or sink keeps time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pacing {
    /// As fast as a live device would: one second of audio per second.
    #[default]
    Realtime,
    /// As fast as the machine can (tests, batch runs).
    Fast,
}

/// What a file or stdin source does once its audio has run out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AfterInput {
    /// Keep publishing silent frames (so endpointing can close the last utterance): first
    /// `tail_silence_ms` at the source's pacing, then in real time until shutdown.
    #[default]
    Silence,
    /// Publish nothing more.
    Stop,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AudioConfig {
    /// Where microphone audio comes from: `device` (a sound card), `file:PATH` (a WAV file of any
    /// rate and channel count), `stdin` (raw s16le 16 kHz mono) or `none`.
    pub input: String,
    /// Part of the capture device's name or ALSA id (case-insensitive), e.g. `USB` or `null`;
    /// empty picks the system default. Only for `input = "device"`.
    pub input_device: String,
    /// Where speech and chimes go: `device`, `file:PATH` (one WAV that grows with everything
    /// played) or `none` (played silently, in real time).
    pub output: String,
    /// Part of the playback device's name or ALSA id; empty picks the system default.
    pub output_device: String,
    /// Speaker volume in percent (0 to 100) until one is set over the bus; a set volume is stored
    /// under `data_dir` and wins over this on restart.
    pub volume_percent: u8,
    /// Pacing of `input = "file:…"`: `realtime` or `fast`.
    pub input_pacing: Pacing,
    /// Pacing of `output = "file:…"` and `output = "none"`: `realtime` (an utterance takes as long
    /// to play as it lasts, so `stop` can cut it) or `fast`.
    pub output_pacing: Pacing,
    /// What a file or stdin source does at its end: `silence` or `stop`.
    pub after_input_file: AfterInput,
    /// Silence sent at the source's pacing right after a file ends, milliseconds (then silence
    /// continues in real time when `after_input_file = "silence"`).
    pub tail_silence_ms: u32,
    /// Sample rate of the output WAV file and of the `none` sink, Hertz.
    pub file_sample_rate_hz: u32,
    /// An utterance that has not received its next chunk for this long while nothing is left to
    /// play is closed (a lost chunk must not block the speaker), milliseconds.
    pub chunk_timeout_ms: u64,
    /// Most audio queued for playback, seconds; chunks beyond it are dropped with a warning.
    pub max_queued_s: u32,
    /// Music level while the assistant listens or speaks, dB below its own level (negative).
    pub music_duck_db: f32,
    /// Time music takes to duck down, milliseconds.
    pub music_duck_ramp_ms: u32,
    /// Time music takes to come back up after the reply, milliseconds.
    pub music_restore_ramp_ms: u32,
    /// Music a stream must have before it starts, milliseconds.
    pub music_prebuffer_ms: u32,
    /// A music stream that has received nothing for this long while it has nothing to play is
    /// dropped (its sender is gone), milliseconds.
    pub music_stall_ms: u64,
    /// After a wake word, music stays ducked this long at most unless the listener or the brain
    /// says the turn goes on, milliseconds (the brain and the listener end it sooner).
    pub wake_duck_hold_ms: u64,
    /// Where the stored volume and microphone mute live: the node's `data_dir`. Set by
    /// [`AudioConfig::from_node`]; `None` keeps them in memory only.
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self {
            input: "device".into(),
            input_device: String::new(),
            output: "device".into(),
            output_device: String::new(),
            volume_percent: 70,
            input_pacing: Pacing::Realtime,
            output_pacing: Pacing::Realtime,
            after_input_file: AfterInput::Silence,
            tail_silence_ms: 1500,
            file_sample_rate_hz: 22_050,
            chunk_timeout_ms: 5_000,
            max_queued_s: 300,
            music_duck_db: -20.0,
            music_duck_ramp_ms: 60,
            music_restore_ramp_ms: 400,
            music_prebuffer_ms: 200,
            music_stall_ms: 5_000,
            wake_duck_hold_ms: 8_000,
            data_dir: None,
        }
    }
}

/// Where microphone audio comes from, parsed from `input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    Device,
    File(PathBuf),
    Stdin,
    None,
}

/// Where played audio goes, parsed from `output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputKind {
    Device,
    File(PathBuf),
    None,
}

impl AudioConfig {
    /// The `[audio]` table of `file`, validated, with `data_dir` taken from the node.
    // ConfigError is hearth-node's; it runs once at start, so its size does not matter here.
    #[allow(clippy::result_large_err)]
    pub fn from_node(file: &NodeFile) -> Result<AudioConfig, ConfigError> {
        let mut config: AudioConfig = file.section("audio")?;
        config.validate().map_err(|(key, why)| file.invalid(format!("audio.{key}"), why))?;
        config.data_dir = Some(file.node.data_dir.clone());
        Ok(config)
    }

    /// Checks every key; the error names the key (without the `audio.` prefix) and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        self.input_kind().map_err(|why| ("input", why))?;
        self.output_kind().map_err(|why| ("output", why))?;
        if self.volume_percent > 100 {
            return Err(("volume_percent", format!("is {}, must be 0 to 100", self.volume_percent)));
        }
        if !(8_000..=192_000).contains(&self.file_sample_rate_hz) {
            return Err(("file_sample_rate_hz", format!("is {}, must be 8000 to 192000", self.file_sample_rate_hz)));
        }
        if self.chunk_timeout_ms < 100 {
            return Err(("chunk_timeout_ms", "must be at least 100".into()));
        }
        if self.max_queued_s == 0 {
            return Err(("max_queued_s", "must be at least 1".into()));
        }
        if !(-60.0..=0.0).contains(&self.music_duck_db) {
            return Err(("music_duck_db", format!("is {}, must be -60 to 0 (dB)", self.music_duck_db)));
        }
        if self.music_duck_ramp_ms < 5 || self.music_restore_ramp_ms < 5 {
            return Err(("music_duck_ramp_ms", "ramps must be at least 5 ms, or music clicks".into()));
        }
        if self.music_prebuffer_ms > 5_000 {
            return Err(("music_prebuffer_ms", "must be at most 5000".into()));
        }
        if self.music_stall_ms < 500 {
            return Err(("music_stall_ms", "must be at least 500".into()));
        }
        Ok(())
    }

    pub fn input_kind(&self) -> Result<InputKind, String> {
        parse_endpoint(&self.input, true).map(|e| match e {
            Endpoint::Device => InputKind::Device,
            Endpoint::File(p) => InputKind::File(p),
            Endpoint::Stdin => InputKind::Stdin,
            Endpoint::None => InputKind::None,
        })
    }

    pub fn output_kind(&self) -> Result<OutputKind, String> {
        parse_endpoint(&self.output, false).map(|e| match e {
            Endpoint::Device => OutputKind::Device,
            Endpoint::File(p) => OutputKind::File(p),
            Endpoint::Stdin | Endpoint::None => OutputKind::None,
        })
    }

    /// How the music mixer ducks and buffers.
    pub fn mixer_settings(&self) -> crate::music::MixerSettings {
        crate::music::MixerSettings {
            duck_db: self.music_duck_db,
            duck_ramp_ms: self.music_duck_ramp_ms,
            restore_ramp_ms: self.music_restore_ramp_ms,
            prebuffer_ms: self.music_prebuffer_ms,
            max_buffer_s: 30,
            stall_timeout: std::time::Duration::from_millis(self.music_stall_ms),
        }
    }

    /// Where the stored volume and microphone mute are kept.
    pub fn state_path(&self) -> Option<PathBuf> {
        self.data_dir.as_deref().map(state_path_in)
    }
}

/// `<data_dir>/audio/state.json`.
pub fn state_path_in(data_dir: &Path) -> PathBuf {
    data_dir.join("audio").join("state.json")
}

enum Endpoint {
    Device,
    File(PathBuf),
    Stdin,
    None,
}

fn parse_endpoint(value: &str, input: bool) -> Result<Endpoint, String> {
    let forms = if input { "\"device\", \"file:PATH.wav\", \"stdin\" or \"none\"" } else { "\"device\", \"file:PATH.wav\" or \"none\"" };
    match value.trim() {
        "device" | "default" => Ok(Endpoint::Device),
        "none" => Ok(Endpoint::None),
        "stdin" if input => Ok(Endpoint::Stdin),
        v => match v.strip_prefix("file:") {
            Some(path) if !path.trim().is_empty() => Ok(Endpoint::File(PathBuf::from(path.trim()))),
            Some(_) => Err("names no file: write \"file:/path/to.wav\"".into()),
            None => Err(format!("is {value:?}; use {forms}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_devices() {
        let c = AudioConfig::default();
        c.validate().unwrap();
        assert_eq!(c.input_kind().unwrap(), InputKind::Device);
        assert_eq!(c.output_kind().unwrap(), OutputKind::Device);
    }

    #[test]
    fn parses_sources_and_names_bad_keys() {
        let file = NodeFile::parse(
            "data_dir = \"/tmp/x\"\n[audio]\ninput = \"file:/a b.wav\"\noutput = \"none\"\ninput_pacing = \"fast\"\n",
            None,
        )
        .unwrap();
        let c = AudioConfig::from_node(&file).unwrap();
        assert_eq!(c.input_kind().unwrap(), InputKind::File("/a b.wav".into()));
        assert_eq!(c.output_kind().unwrap(), OutputKind::None);
        assert_eq!(c.input_pacing, Pacing::Fast);
        assert_eq!(c.state_path().unwrap(), PathBuf::from("/tmp/x/audio/state.json"));

        for (text, key) in [
            ("[audio]\ninput = \"mic\"\n", "audio.input"),
            ("[audio]\noutput = \"stdin\"\n", "audio.output"),
            ("[audio]\noutput = \"file:\"\n", "audio.output"),
            ("[audio]\nvolume_percent = 150\n", "audio.volume_percent"),
        ] {
            let file = NodeFile::parse(text, None).unwrap();
            let err = AudioConfig::from_node(&file).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        let file = NodeFile::parse("[audio]\nvolume = 3\n", None).unwrap();
        let err = AudioConfig::from_node(&file).unwrap_err().to_string();
        assert!(err.contains("[audio]") && err.contains("volume"), "{err}");
    }
}
