//! The `[vision]` and `[camera]` tables of the node file.

use std::path::{Path, PathBuf};

use hearth_node::config::ConfigError;
use hearth_node::NodeFile;
use serde::{Deserialize, Serialize};

/// The default model's files under `<models_dir>/vision/`.
pub const DEFAULT_MODEL_FILE: &str = "SmolVLM-256M-Instruct-Q8_0.gguf";
pub const DEFAULT_MMPROJ_FILE: &str = "mmproj-SmolVLM-256M-Instruct-Q8_0.gguf";
/// What `hearth models pull` calls the default model.
pub const DEFAULT_MODEL_NAME: &str = "smolvlm-256m";
/// Asks for what a voice answer needs: short, plain, spoken.
pub const SYSTEM_PROMPT: &str = "You are the eyes of a home voice assistant. Answer in one or two short, plain \
sentences that sound natural when spoken aloud.";
/// The question when a `look` call has none.
pub const DEFAULT_QUESTION: &str = "What do you see?";
/// Bytes of picture accepted from a camera, a URL or the bus by default (8 MiB).
pub const DEFAULT_MAX_IMAGE_BYTES: u64 = 8 * 1024 * 1024;

/// "missing <path> — run `hearth models pull smolvlm-256m`".
pub fn missing_model_detail(path: &Path) -> String {
    format!("missing {} — run `hearth models pull {DEFAULT_MODEL_NAME}`", path.display())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VisionConfig {
    /// Language model GGUF; default `<models_dir>/vision/SmolVLM-256M-Instruct-Q8_0.gguf`. Read fully into RAM.
    pub model: Option<PathBuf>,
    /// Its multimodal projector GGUF; default `<models_dir>/vision/mmproj-SmolVLM-256M-Instruct-Q8_0.gguf`.
    pub mmproj: Option<PathBuf>,
    /// Split the picture into 512 px tiles plus an overview (more detail, about ten times the image tokens and
    /// time). Off: one tile and the overview, the practical setting on a Raspberry Pi.
    pub image_splitting: bool,
    /// Most tokens generated for one answer, tokens (one or two spoken sentences).
    pub max_tokens: u32,
    /// Replaces the built-in system prompt.
    pub system_prompt: Option<String>,
    /// Context window, tokens (image tokens, prompt and answer together).
    pub context_tokens: u32,
    /// CPU threads; 0 = one per core.
    pub threads: u32,
    /// How long to wait for the camera's frame, milliseconds.
    pub capture_timeout_ms: u64,
    /// Largest picture accepted from the bus, bytes.
    pub max_image_bytes: u64,
}

impl Default for VisionConfig {
    fn default() -> Self {
        Self {
            model: None,
            mmproj: None,
            image_splitting: false,
            max_tokens: 64,
            system_prompt: None,
            context_tokens: 4096,
            threads: 0,
            capture_timeout_ms: 5000,
            max_image_bytes: DEFAULT_MAX_IMAGE_BYTES,
        }
    }
}

impl VisionConfig {
    /// Reads `[vision]` from the node file and checks every value, naming the bad key.
    pub fn from_node(file: &NodeFile) -> Result<VisionConfig, ConfigError> {
        let config: VisionConfig = file.section("vision")?;
        config.validate().map_err(|(key, why)| file.invalid(format!("vision.{key}"), why))?;
        Ok(config)
    }

    /// The first problem found, as (key, why).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(512..=32_768).contains(&self.context_tokens) {
            return Err(("context_tokens", format!("must be 512 to 32768, got {}", self.context_tokens)));
        }
        if self.max_tokens == 0 || self.max_tokens > 1024 {
            return Err(("max_tokens", format!("must be 1 to 1024, got {}", self.max_tokens)));
        }
        if self.threads > 256 {
            return Err(("threads", format!("must be 0 (auto) to 256, got {}", self.threads)));
        }
        if !(100..=120_000).contains(&self.capture_timeout_ms) {
            return Err(("capture_timeout_ms", format!("must be 100 to 120000, got {}", self.capture_timeout_ms)));
        }
        if self.max_image_bytes < 1024 {
            return Err(("max_image_bytes", format!("must be at least 1024, got {}", self.max_image_bytes)));
        }
        if self.system_prompt.as_deref().is_some_and(|p| p.trim().is_empty()) {
            return Err(("system_prompt", "must not be empty (leave it out for the built-in prompt)".into()));
        }
        Ok(())
    }

    pub fn model_path(&self, models_dir: &Path) -> PathBuf {
        self.model.clone().unwrap_or_else(|| models_dir.join("vision").join(DEFAULT_MODEL_FILE))
    }

    pub fn mmproj_path(&self, models_dir: &Path) -> PathBuf {
        self.mmproj.clone().unwrap_or_else(|| models_dir.join("vision").join(DEFAULT_MMPROJ_FILE))
    }

    pub fn system_prompt(&self) -> &str {
        self.system_prompt.as_deref().unwrap_or(SYSTEM_PROMPT)
    }

    /// Threads to use: the configured number, or one per available core.
    pub fn thread_count(&self) -> i32 {
        if self.threads > 0 {
            return self.threads as i32;
        }
        std::thread::available_parallelism().map_or(4, |n| n.get() as i32)
    }
}

/// Where the camera's pictures come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSource {
    /// A V4L2 device such as `/dev/video0`.
    Device(PathBuf),
    /// A still-image URL on the LAN (an IP camera's or Home Assistant's snapshot).
    Url(String),
    /// A picture file (tests and demos).
    File(PathBuf),
}

impl CameraSource {
    /// How the source is named on the bus: `v4l2:/dev/video0`, `url:<host>`, `file:<name>`. A URL is reduced to
    /// its host so that credentials or tokens in it never reach the bus.
    pub fn label(&self) -> String {
        match self {
            CameraSource::Device(p) => format!("v4l2:{}", p.display()),
            CameraSource::Url(u) => {
                let host = u.split("://").nth(1).unwrap_or(u).split(['/', '?']).next().unwrap_or("");
                format!("url:{}", host.rsplit('@').next().unwrap_or(host))
            }
            CameraSource::File(p) => format!("file:{}", p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
        }
    }
}

/// `[camera]`: exactly one of `device`, `url` or `file` makes the node's camera service run.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraConfig {
    /// V4L2 device, e.g. `/dev/video0`.
    pub device: Option<PathBuf>,
    /// Still-image URL, e.g. `http://192.168.1.20/snapshot.jpg` (kept out of logs and the bus: it may hold a token).
    pub url: Option<String>,
    /// A picture file, for tests and demos.
    pub file: Option<PathBuf>,
    /// Preferred capture size from a device, pixels (the nearest the camera offers is used).
    pub width: u32,
    pub height: u32,
    /// Frames read and thrown away after opening a device so auto-exposure can settle.
    pub settle_frames: u32,
    /// Longest a capture may take (opening, settling, the frame; or the HTTP request), milliseconds.
    pub timeout_ms: u64,
    /// Pictures are scaled down to this longer side before they go on the bus, pixels.
    pub max_edge_px: u32,
    /// JPEG quality on the bus, 1–100.
    pub jpeg_quality: u8,
    /// Largest picture accepted from a URL or file, bytes.
    pub max_image_bytes: u64,
    /// Keep each captured JPEG in this folder; unset (the default): nothing is written to disk.
    pub save_dir: Option<PathBuf>,
    /// Where the off switch is stored: the node's `data_dir`. Set by [`CameraConfig::from_node`]; `None` keeps
    /// the switch in memory only.
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
}

impl std::fmt::Debug for CameraConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraConfig")
            .field("device", &self.device)
            .field("url", &self.url.as_ref().map(|_| "<hidden>"))
            .field("file", &self.file)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("settle_frames", &self.settle_frames)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_edge_px", &self.max_edge_px)
            .field("save_dir", &self.save_dir)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            device: None,
            url: None,
            file: None,
            width: 640,
            height: 480,
            settle_frames: 8,
            timeout_ms: 3000,
            max_edge_px: 1280,
            jpeg_quality: 85,
            max_image_bytes: DEFAULT_MAX_IMAGE_BYTES,
            save_dir: None,
            data_dir: None,
        }
    }
}

impl CameraConfig {
    /// Reads `[camera]`; `None` when the node has no camera configured.
    pub fn from_node(file: &NodeFile) -> Result<Option<CameraConfig>, ConfigError> {
        if !file.has_section("camera") {
            return Ok(None);
        }
        let mut config: CameraConfig = file.section("camera")?;
        config.validate().map_err(|(key, why)| file.invalid(format!("camera.{key}"), why))?;
        config.data_dir = Some(file.node.data_dir.clone());
        Ok(Some(config))
    }

    /// Where the off switch is kept, `<data_dir>/camera/state.json`.
    pub fn state_path(&self) -> Option<PathBuf> {
        self.data_dir.as_deref().map(crate::switch::state_path_in)
    }

    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let set = [self.device.is_some(), self.url.is_some(), self.file.is_some()].iter().filter(|s| **s).count();
        if set != 1 {
            return Err(("device", format!("set exactly one of device, url or file ({set} are set)")));
        }
        if let Some(url) = &self.url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(("url", "must start with http:// or https://".into()));
            }
        }
        if !(16..=8192).contains(&self.width) || !(16..=8192).contains(&self.height) {
            return Err(("width", format!("width and height must be 16 to 8192, got {}×{}", self.width, self.height)));
        }
        if self.settle_frames > 120 {
            return Err(("settle_frames", format!("must be 0 to 120, got {}", self.settle_frames)));
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            return Err(("timeout_ms", format!("must be 100 to 60000, got {}", self.timeout_ms)));
        }
        if !(64..=8192).contains(&self.max_edge_px) {
            return Err(("max_edge_px", format!("must be 64 to 8192, got {}", self.max_edge_px)));
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(("jpeg_quality", format!("must be 1 to 100, got {}", self.jpeg_quality)));
        }
        if self.max_image_bytes < 1024 {
            return Err(("max_image_bytes", format!("must be at least 1024, got {}", self.max_image_bytes)));
        }
        Ok(())
    }

    /// The one configured source (validated).
    pub fn source(&self) -> CameraSource {
        match (&self.device, &self.url, &self.file) {
            (Some(d), _, _) => CameraSource::Device(d.clone()),
            (_, Some(u), _) => CameraSource::Url(u.clone()),
            (_, _, Some(f)) => CameraSource::File(f.clone()),
            _ => CameraSource::Device(PathBuf::from("/dev/video0")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_errors_name_the_key() {
        assert!(VisionConfig::default().validate().is_ok());
        let file = NodeFile::parse("models_dir = \"/m\"\n[vision]\nimage_splitting = true\n", None).unwrap();
        let config = VisionConfig::from_node(&file).unwrap();
        assert!(config.image_splitting);
        assert_eq!(config.model_path(&file.node.models_dir()), PathBuf::from("/m/vision/SmolVLM-256M-Instruct-Q8_0.gguf"));
        let file = NodeFile::parse("[vision]\nmax_tokens = 0\n", None).unwrap();
        assert!(VisionConfig::from_node(&file).unwrap_err().to_string().contains("vision.max_tokens"));
        let file = NodeFile::parse("[vision]\nsplitting = true\n", None).unwrap();
        assert!(VisionConfig::from_node(&file).unwrap_err().to_string().contains("splitting"));
    }

    #[test]
    fn camera_needs_exactly_one_source_and_hides_urls() {
        let file = NodeFile::parse("site = \"kitchen\"\n", None).unwrap();
        assert_eq!(CameraConfig::from_node(&file).unwrap(), None);
        let file = NodeFile::parse("[camera]\ndevice = \"/dev/video0\"\nurl = \"http://x/y.jpg\"\n", None).unwrap();
        assert!(CameraConfig::from_node(&file).unwrap_err().to_string().contains("exactly one"));
        let file = NodeFile::parse("[camera]\nurl = \"http://user:secret@cam.lan:8080/snap.jpg?token=abc\"\n", None).unwrap();
        let camera = CameraConfig::from_node(&file).unwrap().unwrap();
        assert_eq!(camera.source().label(), "url:cam.lan:8080");
        assert!(!format!("{camera:?}").contains("secret"));
        let file = NodeFile::parse("data_dir = \"/d\"\n[camera]\nfile = \"/tmp/room.jpg\"\n", None).unwrap();
        let camera = CameraConfig::from_node(&file).unwrap().unwrap();
        assert_eq!(camera.source().label(), "file:room.jpg");
        assert_eq!(camera.state_path(), Some(PathBuf::from("/d/camera/state.json")));
    }
}
