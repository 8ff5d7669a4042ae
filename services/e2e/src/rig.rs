//! `hearth up` as a user runs it, on free loopback ports, with a pipe for a microphone, a WAV file for a
//! speaker, a local Open-Meteo, and models from wherever the caller points.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hearth_bus::service::{ServiceState, ServiceStatus};
use hearth_bus::BusConfig;
use hearth_tools::testkit::{tool_hosts, TestServer};

use crate::mic::Mic;
use crate::recorder::Recorder;

/// What speaks the replies.
#[derive(Debug, Clone)]
pub enum Voice {
    /// The built-in espeak-ng voice (no Piper voice installed).
    Espeak,
    /// A Piper voice file (`.onnx` with its `.onnx.json` beside it).
    Piper(PathBuf),
}

/// The models and settings of one assistant.
#[derive(Debug, Clone)]
pub struct RigOptions {
    /// `hearth` (the others, `hearth-asr` and `hearth-llm`, are found beside it).
    pub hearth: PathBuf,
    /// Folder with `openwakeword/` (front end and the wake word) and `silero-vad/`.
    pub models: PathBuf,
    /// The wake word model's file name under `openwakeword/`.
    pub wake_word: String,
    /// whisper.cpp model.
    pub whisper: PathBuf,
    /// GGUF language model; `None` runs without `hearth-llm`.
    pub llm: Option<PathBuf>,
    pub voice: Voice,
    /// 16 kHz samples under everything the microphone hears, repeated.
    pub noise: Option<Vec<i16>>,
    /// `[brain] follow_up_ms`.
    pub follow_up_ms: u64,
    /// Extra TOML merged over the generated config (tables merge key by key).
    pub overrides: toml::Table,
    /// Where config, state and the speaker WAV go.
    pub work_dir: PathBuf,
    /// Longest wait for any one event.
    pub wait: Duration,
}

/// A running assistant.
pub struct Rig {
    child: Child,
    pub mic: Mic,
    pub recorder: Recorder,
    pub bus: BusConfig,
    /// The WAV file the speaker writes.
    pub speaker: PathBuf,
    pub services: Vec<String>,
    /// Stop playback as soon as a reply's last audio chunk is out (benchmarks: the times that matter are
    /// known by then, and the wake word is not listened for while the assistant speaks).
    pub cut_playback: bool,
    /// The last status each service published that a wait matched: `start` consumes the settling status,
    /// and a test asking for it again afterwards must still see it.
    statuses: HashMap<String, ServiceStatus>,
    _weather: TestServer,
}

impl Rig {
    /// Starts `hearth up` and returns once every service reports `online`.
    pub async fn start(options: RigOptions) -> anyhow::Result<Rig> {
        let weather = tool_hosts().await;
        let ports: Vec<u16> = (0..3).map(|_| hearth_broker::free_loopback_port().map(|a| a.port())).collect::<Result<_, _>>()?;
        let mut services: Vec<String> = ["audio", "wake", "listen", "asr", "brain", "timers", "tools", "tts"].map(String::from).into();
        if options.llm.is_some() {
            services.push("llm".into());
        }
        let models = link_models(&options)?;
        let config = config_table(&options, &models, &ports, &weather.base, &services)?;
        let config_path = options.work_dir.join("hearth.toml");
        std::fs::write(&config_path, toml::to_string(&config)?)?;
        let speaker = options.work_dir.join("speaker.wav");

        let mut child = Command::new(&options.hearth)
            .arg("--config")
            .arg(&config_path)
            .args(["up", "--mic", "-", "--speaker"])
            .arg(&speaker)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", options.hearth.display()))?;
        let mic = Mic::start(child.stdin.take().expect("piped stdin"), options.noise.clone());
        let bus = BusConfig { host: "127.0.0.1".into(), port: ports[0], ..BusConfig::default() };
        wait_for_port(ports[0], options.wait, &mut child)?;
        let recorder = Recorder::connect(&bus, &["hearth/#"], options.wait).await?;
        let mut rig = Rig { child, mic, recorder, bus, speaker, services, cut_playback: false, statuses: HashMap::new(), _weather: weather };
        for name in rig.services.clone() {
            // A service that cannot work (a missing model) has settled too: a test may want to hear it.
            // "starting" and "loading …" say it is not there yet.
            rig.wait_status(&name, |s| {
                s.state == ServiceState::Online
                    || (s.state == ServiceState::Unavailable
                        && !s.detail.as_deref().is_some_and(|d| d.starts_with("loading") || d == hearth_bus::service::STARTING))
            })
            .await?;
        }
        Ok(rig)
    }

    /// Waits until service `name` says `online` (its retained status counts).
    pub async fn wait_online(&mut self, name: &str) -> anyhow::Result<ServiceStatus> {
        self.wait_status(name, |s| s.state == ServiceState::Online).await
    }

    /// Waits for a status of service `name` that passes `pred`; the last one already matched counts.
    pub async fn wait_status(&mut self, name: &str, pred: impl Fn(&ServiceStatus) -> bool) -> anyhow::Result<ServiceStatus> {
        if let Some(last) = self.statuses.get(name).filter(|s| pred(s)) {
            return Ok(last.clone());
        }
        let topic = hearth_bus::service::status_topic("default", name);
        let found = self
            .recorder
            .next_event(&format!("status from {name} that the test waits for"), |e| {
                e.topic == topic && e.decode::<ServiceStatus>().is_some_and(|s| pred(&s))
            })
            .await;
        match found {
            Ok(e) => {
                let status = e.envelope.decode::<ServiceStatus>().expect("decoded above");
                self.statuses.insert(name.to_owned(), status.clone());
                Ok(status)
            }
            Err(e) => bail!("{e}; is {name} failing? its log is above"),
        }
    }

    /// The process id of `hearth up` itself (the supervisor, which also runs the broker).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process id of service `name`, a child of `hearth up`.
    pub fn service_pid(&self, name: &str) -> Option<i32> {
        let wanted: Vec<&str> = if name == "asr" || name == "llm" { vec![] } else { vec!["service", name] };
        let binary = match name {
            "asr" => "hearth-asr",
            "llm" => "hearth-llm",
            _ => "hearth",
        };
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // Field 4, after the parenthesised command name.
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)).and_then(|p| p.parse::<u32>().ok());
            if ppid != Some(self.child.id()) {
                continue;
            }
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
            let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            let exe_matches = args.first().is_some_and(|a| Path::new(a).file_name().is_some_and(|f| f == binary));
            if exe_matches && wanted.iter().all(|w| args.iter().any(|a| a == w)) {
                return Some(pid);
            }
        }
        None
    }

    /// Kills service `name` for good and returns once `hearth up` has restarted it and the new process
    /// says online; the old and new process ids.
    pub async fn kill_and_wait_for_restart(&mut self, name: &str) -> anyhow::Result<(i32, i32)> {
        // Statuses from before the kill must not pass for the new process's.
        let topic = hearth_bus::service::status_topic("default", name);
        self.recorder.discard(|e| e.topic == topic);
        self.statuses.remove(name);
        let old = self.signal(name, libc::SIGKILL)?;
        // The broker publishes the dead client's last will; then the new process reports.
        self.wait_status(name, |s| s.state == ServiceState::Offline).await?;
        self.wait_online(name).await?;
        let new = self.service_pid(name).with_context(|| format!("{name} said online but is not running"))?;
        Ok((old, new))
    }

    /// Sends `signal` to service `name`.
    pub fn signal(&self, name: &str, signal: i32) -> anyhow::Result<i32> {
        let pid = self.service_pid(name).with_context(|| format!("no running {name} under hearth up"))?;
        // SAFETY: kill has no memory-safety preconditions.
        if unsafe { libc::kill(pid, signal) } != 0 {
            bail!("kill {pid}: {}", std::io::Error::last_os_error());
        }
        Ok(pid)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // SIGTERM lets `hearth up` stop its children; the kill is the fallback.
        // SAFETY: as above.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_port(port: u16, wait: Duration, child: &mut Child) -> anyhow::Result<()> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        if let Some(status) = child.try_wait()? {
            bail!("hearth up exited before its broker came up ({status}); its log is above");
        }
        if started.elapsed() > wait {
            bail!("the broker of hearth up did not open port {port} within {wait:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A models folder of links: the wake word front end, one wake word, Silero, the whisper model under the
/// default name, and the Piper voice if any.
fn link_models(options: &RigOptions) -> anyhow::Result<PathBuf> {
    let dir = options.work_dir.join("models");
    let oww = options.models.join("openwakeword");
    let mut links = vec![
        (oww.join("melspectrogram.onnx"), "openwakeword/melspectrogram.onnx".to_string()),
        (oww.join("embedding_model.onnx"), "openwakeword/embedding_model.onnx".to_string()),
        (oww.join(&options.wake_word), format!("openwakeword/{}", options.wake_word)),
        (options.models.join("silero-vad/silero_vad.onnx"), "silero-vad/silero_vad.onnx".to_string()),
        (options.whisper.clone(), "whisper/ggml-tiny.en.bin".to_string()),
    ];
    if let Voice::Piper(voice) = &options.voice {
        links.push((voice.clone(), "piper/voice.onnx".into()));
        links.push((voice.with_extension("onnx.json"), "piper/voice.onnx.json".into()));
    }
    for (from, to) in links {
        anyhow::ensure!(from.is_file(), "{} is missing", from.display());
        let to = dir.join(to);
        std::fs::create_dir_all(to.parent().expect("has a folder"))?;
        let _ = std::fs::remove_file(&to);
        std::os::unix::fs::symlink(std::fs::canonicalize(&from)?, &to)?;
    }
    Ok(dir)
}

fn config_table(options: &RigOptions, models: &Path, ports: &[u16], weather: &str, services: &[String]) -> anyhow::Result<toml::Table> {
    let data = options.work_dir.join("data");
    let quoted = |p: &Path| toml::Value::String(p.display().to_string()).to_string();
    let mut text = format!(
        "data_dir = {data}\nmodels_dir = {models}\n\
         [bus]\nport = {p0}\n\
         [broker]\nmqtt = \"127.0.0.1:{p0}\"\nmqtt5 = \"127.0.0.1:{p1}\"\nwebsocket = \"127.0.0.1:{p2}\"\n\
         [brain]\nfollow_up_ms = {follow}\n\
         [wake]\nwords = [{{ model = {word} }}]\n\
         [tools.weather]\ngeocoding_url = \"{weather}/v1/search\"\nforecast_url = \"{weather}/v1/forecast\"\n\
         [tools.wikipedia]\nbase_url = \"{weather}/wiki\"\n\
         [up]\nservices = [{services}]\n",
        data = quoted(&data),
        models = quoted(models),
        p0 = ports[0],
        p1 = ports[1],
        p2 = ports[2],
        follow = options.follow_up_ms,
        word = toml::Value::String(options.wake_word.clone()),
        services = services.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", "),
    );
    if let Some(llm) = &options.llm {
        text += &format!("[llm]\nmodel = {}\nthreads = 2\n", quoted(llm));
        // The tiny fixture models have a byte-level vocabulary: the system prompt and tool catalog take
        // about 4 500 of their tokens (a real model's tokenizer needs a fraction of that).
        if llm.starts_with(crate::fixtures_dir()) {
            text += "context_tokens = 8192\n";
        }
    }
    if let Voice::Piper(_) = options.voice {
        text += "[tts]\nvoice = \"voice\"\n";
    }
    let mut table: toml::Table = text.parse()?;
    merge(&mut table, &options.overrides);
    Ok(table)
}

fn merge(into: &mut toml::Table, from: &toml::Table) {
    for (key, value) in from {
        match (into.get_mut(key), value) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}
