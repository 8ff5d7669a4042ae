//! Shared helpers: fixture paths, ONNX Runtime, Python, the broker and the service under test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hearth_bus::service::ServiceInfo;
use hearth_bus::{Bus, BusClient, BusConfig, Connection, Envelope, Inbox, Shutdown};
use hearth_tts::TtsConfig;

pub const WAIT: Duration = Duration::from_secs(30);

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (returns None) with a plain message, except under CI=true, where a missing prerequisite fails.
pub fn skip<T>(why: &str) -> Option<T> {
    if in_ci() {
        panic!("{why} (required under CI=true)");
    }
    println!("skipping: {why}");
    None
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/tts"))
}

/// libonnxruntime as the service would find it.
pub fn onnxruntime() -> Option<PathBuf> {
    let path = hearth_tts::piper::onnxruntime_path(None, &hearth_node::config::default_data_dir());
    if path.is_file() {
        Some(path)
    } else {
        skip(&format!("ONNX Runtime not found at {} (run scripts/install-onnxruntime.sh)", path.display()))
    }
}

/// `HEARTH_PYTHON` (default python3) when it has piper-tts.
pub fn python_with_piper() -> Option<String> {
    let python = std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python).args(["-c", "import piper.voice"]).output().is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        skip(&format!("{python} has no piper-tts module (pip install piper-tts)"))
    }
}

/// A config that loads `voice` (a fixture `.onnx` or any path) from a throwaway data dir.
pub fn config_for(voice: &Path, ort: &Path) -> TtsConfig {
    let dir = std::env::temp_dir();
    TtsConfig {
        voice_path: Some(voice.to_path_buf()),
        onnxruntime_path: Some(ort.to_path_buf()),
        chunk_ms: 100,
        models_dir: dir.join("hearth-tts-no-models"),
        data_dir: dir,
        ..TtsConfig::default()
    }
}

pub struct Harness {
    pub _broker: hearth_broker::BrokerHandle,
    pub driver: BusClient,
    pub inbox: Inbox,
    /// The capabilities the service announced once its voice was ready.
    pub capabilities: Vec<String>,
    /// `Spoken` events seen while waiting for something else.
    pub spoken: Vec<hearth_bus::tts::Spoken>,
    _driver_conn: Connection,
    shutdown: Shutdown,
    service: tokio::task::JoinHandle<Result<(), hearth_tts::TtsError>>,
}

impl Harness {
    /// A broker, the TTS service running `config`, and a driver client subscribed to its output.
    pub async fn start(config: TtsConfig) -> Harness {
        let broker = hearth_broker::start_on_free_ports().unwrap();
        let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
        let (driver, driver_conn) = Bus::connect(&bus_config, "test-driver", "default").unwrap();
        let Bus { client: driver, inbox } = driver;
        driver.wait_connected(WAIT).await.unwrap();
        for filter in ["hearth/+/audio/play", "hearth/+/tts/spoken", "hearth/+/service/tts/#"] {
            driver.subscribe(filter).await.unwrap();
        }
        let (bus, conn) = Bus::connect(&bus_config, "tts", "default").unwrap();
        bus.client.wait_connected(WAIT).await.unwrap();
        let shutdown = Shutdown::new();
        let s = shutdown.clone();
        let service = tokio::spawn(async move {
            let r = hearth_tts::run(config, bus, s).await;
            conn.close().await;
            r
        });
        let mut h = Harness { _broker: broker, driver, inbox, capabilities: Vec::new(), spoken: Vec::new(), _driver_conn: driver_conn, shutdown, service };
        // Ready (subscribed, voice loaded) once it announces its voice.
        let info = h.next(|e| e.decode::<ServiceInfo>().is_some_and(|i| !i.capabilities.is_empty())).await;
        h.capabilities = info.decode::<ServiceInfo>().unwrap().capabilities;
        h
    }

    pub async fn next(&mut self, pred: impl Fn(&Envelope) -> bool) -> Envelope {
        self.inbox.next_matching(WAIT, pred).await.expect("timed out waiting for a message")
    }

    pub async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(WAIT, self.service).await.expect("service stops").unwrap().unwrap();
    }
}

/// A real Piper voice fetched by `scripts/fetch-real-models.sh` into `$HEARTH_CACHE/real-models/piper`.
pub fn real_voice(file: &str) -> Option<PathBuf> {
    let path = hearth_tts::voices::real_models_piper_dir().join(file);
    if path.is_file() {
        Some(path)
    } else {
        skip(&format!("the real Piper voice is not at {} (run scripts/fetch-real-models.sh)", path.display()))
    }
}
