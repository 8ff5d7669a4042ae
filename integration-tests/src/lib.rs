//! Helpers for Hearth's whole-system tests: a broker on free ports, services started in-process on it,
//! and waiting for bus messages with timeouts. The tests themselves live in `tests/`.

pub use hearth_e2e::speech;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use hearth_broker::BrokerHandle;
use hearth_bus::{Bus, BusConfig, Message, Shutdown};
use tokio::task::JoinHandle;

/// Every wait in the tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(45);

/// A broker on free loopback ports and the bus settings to reach it.
pub struct TestBroker {
    pub handle: BrokerHandle,
    pub bus: BusConfig,
}

pub fn start_broker() -> TestBroker {
    let handle = hearth_broker::start_on_free_ports().expect("broker starts");
    let bus = BusConfig { host: "127.0.0.1".into(), port: handle.mqtt.port(), ..BusConfig::default() };
    TestBroker { handle, bus }
}

/// A service running in this process; `stop` shuts it down and waits for it.
pub struct RunningService {
    pub shutdown: Shutdown,
    task: JoinHandle<()>,
}

impl RunningService {
    pub async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(WAIT, self.task).await.expect("service stops in time").expect("service task");
    }
}

/// Starts `run(bus, shutdown)` as `service` at `site`, connected to `bus` and ready to use.
pub async fn start_service<F, Fut, E>(bus: &BusConfig, service: &str, site: &str, run: F) -> RunningService
where
    F: FnOnce(Bus, Shutdown) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Debug + Send + 'static,
{
    let shutdown = Shutdown::new();
    let (b, connection) = Bus::connect(bus, service, site).expect("bus connects");
    b.client.wait_connected(WAIT).await.expect("service connected");
    let s = shutdown.clone();
    let task = tokio::spawn(async move {
        run(b, s).await.expect("service ran");
        connection.close().await;
    });
    // Give the service a moment to subscribe before the test publishes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    RunningService { shutdown, task }
}

/// A test client: subscribes to `filters` and waits for messages, each wait bounded by [`WAIT`]. The
/// broker keeps order within a topic but not across topics, so messages that arrive before the one
/// awaited are kept for later calls (the whole-turn [`Recorder`](hearth_e2e::recorder::Recorder) does the
/// keeping).
pub struct Probe {
    pub client: hearth_bus::BusClient,
    recorder: hearth_e2e::recorder::Recorder,
}

impl Probe {
    pub async fn new(bus: &BusConfig, filters: &[&str]) -> Probe {
        let recorder = hearth_e2e::recorder::Recorder::connect(bus, filters, WAIT).await.expect("probe connects");
        // Let the subscriptions settle before the test publishes.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Probe { client: recorder.client.clone(), recorder }
    }

    /// The next `M` for which `pred` holds.
    pub async fn next<M: Message>(&mut self, pred: impl Fn(&M) -> bool) -> M {
        self.recorder.next(pred).await.unwrap_or_else(|e| panic!("{e}")).1
    }

    /// The next `M` on exactly `topic`.
    pub async fn next_on<M: Message>(&mut self, topic: &str, pred: impl Fn(&M) -> bool) -> M {
        let e = self.recorder.next_event(topic, |e| e.topic == topic && M::from_payload(&e.payload).is_ok_and(|m| pred(&m)));
        e.await.unwrap_or_else(|e| panic!("{e}")).envelope.decode::<M>().expect("matched above")
    }

    /// Everything of type `M` that arrives within `window` (and any already received).
    pub async fn collect<M: Message>(&mut self, window: Duration) -> Vec<M> {
        self.recorder.collect(window).await
    }
}

/// A built binary of this workspace (`hearth`, `hearth-asr`…), next to the test executable's folder.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is not built: run `cargo build -p {name}` (cargo test --workspace builds it)", path.display());
    path
}

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
/// language model `llm` from `fixtures/llm` if any, and `voice`. `None` (after saying so) when
/// `../shared` is missing outside CI.
pub fn voice_rig(dir: &std::path::Path, phrase: &str, llm: Option<&str>, voice: hearth_e2e::Voice) -> Option<hearth_e2e::RigOptions> {
    let models = hearth_e2e::shared_dir().join("models");
    if !models.join("openwakeword/melspectrogram.onnx").is_file() {
        assert!(std::env::var("CI").is_err(), "{} not found (set HEARTH_SHARED)", models.display());
        eprintln!("skipping: {} not found (set HEARTH_SHARED)", models.display());
        return None;
    }
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
