//! Broker, service and listener helpers; signal helpers.

use std::f32::consts::PI;
use std::path::Path;
use std::time::Duration;

use hearth_audio::AudioConfig;
use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::{Bus, BusClient, BusConfig, Connection, Envelope, Inbox, Message, Shutdown};
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(15);
pub const SITE: &str = "test";

pub struct Rig {
    pub _broker: hearth_broker::BrokerHandle,
    pub bus: BusConfig,
}

impl Rig {
    pub fn new() -> Rig {
        // RUST_LOG=hearth_audio=debug shows what the service does.
        let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init();
        // start_on_free_ports picks each port separately and can pick the same one twice when
        // tests run in parallel; try again then.
        let broker = (0..5)
            .find_map(|_| hearth_broker::start_on_free_ports().ok())
            .unwrap_or_else(|| hearth_broker::start_on_free_ports().expect("broker starts"));
        let bus = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
        Rig { _broker: broker, bus }
    }

    /// A test client subscribed to `filters` (topic suffixes on the test site), connected.
    pub async fn listener(&self, suffixes: &[&str]) -> (BusClient, Inbox, Connection) {
        let (bus, conn) = Bus::connect(&self.bus, "test-listener", SITE).unwrap();
        let Bus { client, inbox } = bus;
        client.wait_connected(WAIT).await.unwrap();
        for s in suffixes {
            client.subscribe(format!("hearth/{SITE}/{s}")).await.unwrap();
        }
        // Let the broker register the subscriptions before anything is published.
        tokio::time::sleep(Duration::from_millis(100)).await;
        (client, inbox, conn)
    }

    /// Starts the audio service in-process.
    pub async fn service(&self, config: AudioConfig) -> RunningService {
        let (bus, conn) = Bus::connect(&self.bus, "audio", SITE).unwrap();
        bus.client.wait_connected(WAIT).await.unwrap();
        let shutdown = Shutdown::new();
        let task = tokio::spawn(hearth_audio::run(config, bus, shutdown.clone()));
        RunningService { shutdown, task, conn }
    }
}

pub struct RunningService {
    pub shutdown: Shutdown,
    pub task: JoinHandle<Result<(), hearth_audio::AudioError>>,
    pub conn: Connection,
}

impl RunningService {
    pub async fn stop(self) {
        self.shutdown.trigger();
        let result = tokio::time::timeout(WAIT, self.task).await.expect("service stops in time").expect("no panic");
        result.expect("service returns Ok");
        self.conn.close().await;
    }
}

pub async fn next_matching(inbox: &mut Inbox, pred: impl Fn(&Envelope) -> bool) -> Envelope {
    inbox.next_matching(WAIT, pred).await.expect("timed out waiting for a message")
}

pub async fn next<M: Message>(inbox: &mut Inbox) -> M {
    let e = next_matching(inbox, |e| e.is::<M>()).await;
    e.decode::<M>().expect("decodes")
}

/// Messages of type `M` arriving within `span`.
pub async fn collect_for<M: Message>(inbox: &mut Inbox, span: Duration) -> Vec<M> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(span, async {
        while let Some(e) = inbox.recv().await {
            if let Some(m) = e.decode::<M>() {
                out.push(m);
            }
        }
    })
    .await;
    out
}

/// Waits for the service's status to satisfy `pred`.
pub async fn status_where(inbox: &mut Inbox, pred: impl Fn(&ServiceStatus) -> bool) -> ServiceStatus {
    let topic = status_topic(SITE, "audio");
    let e = inbox.next_matching(WAIT, |e| e.topic == topic && e.decode::<ServiceStatus>().is_some_and(|s| pred(&s))).await;
    e.expect("timed out waiting for the status").decode::<ServiceStatus>().expect("decoded above")
}

/// The service's retained status, read by a fresh subscriber.
pub async fn current_status(rig: &Rig) -> ServiceStatus {
    let (_c, mut inbox, conn) = rig.listener(&["service/audio/status"]).await;
    let status = status_where(&mut inbox, |_| true).await;
    conn.close().await;
    status
}

pub fn is_online(s: &ServiceStatus) -> bool {
    s.state == ServiceState::Online
}

pub fn sine(rate: u32, freq: f32, seconds: f32, amp: f32) -> Vec<f32> {
    let n = (rate as f32 * seconds).round() as usize;
    (0..n).map(|i| amp * (2.0 * PI * freq * i as f32 / rate as f32).sin()).collect()
}

pub fn to_i16(s: &[f32]) -> Vec<i16> {
    s.iter().map(|&v| (v * 32767.0).round() as i16).collect()
}

/// Writes `mono` as a 16-bit WAV with `channels` identical channels.
pub fn write_wav(path: &Path, rate: u32, channels: u16, mono: &[f32]) {
    let spec = hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in &to_i16(mono) {
        for _ in 0..channels {
            w.write_sample(s).unwrap();
        }
    }
    w.finalize().unwrap();
}

pub fn read_wav(path: &Path) -> (u32, Vec<i16>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let rate = r.spec().sample_rate;
    (rate, r.samples::<i16>().map(|s| s.unwrap()).collect())
}

/// Frequency from rising zero crossings.
pub fn measured_freq(samples: &[i16], rate: u32) -> f32 {
    let rises: Vec<usize> = (1..samples.len()).filter(|&i| samples[i - 1] < 0 && samples[i] >= 0).collect();
    assert!(rises.len() > 2, "no tone");
    (rises.len() - 1) as f32 * rate as f32 / (rises[rises.len() - 1] - rises[0]) as f32
}

pub fn peak(samples: &[i16]) -> i16 {
    samples.iter().map(|s| s.saturating_abs()).max().unwrap_or(0)
}

/// A config with no sound card anywhere; tests change what they need.
pub fn headless(dir: &Path) -> AudioConfig {
    AudioConfig {
        input: "none".into(),
        output: "none".into(),
        data_dir: Some(dir.to_path_buf()),
        ..AudioConfig::default()
    }
}
