//! `hearth up`: the embedded broker (and the wake word arbiter beside it) in this process plus every service this machine runs as a
//! supervised child process (restart with back-off, output prefixed with the service name).
//!
//! Children get a derived config file (the node file plus `--mic`/`--speaker` overrides) so each one
//! reads exactly what the user asked for.

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use hearth_broker::BrokerConfig;
use hearth_bus::Shutdown;
use hearth_node::NodeFile;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tracing::{info, warn};

use crate::services::{up_plan, NotInstalled, Planned, BUILT_IN};

#[derive(Args)]
pub struct UpArgs {
    /// Use a WAV file as the microphone (a demo on a machine with no sound card); `-` reads raw s16le
    /// 16 kHz mono from standard input (`sox in.wav -t raw -r 16000 -c 1 -b 16 - | hearth up --mic -`).
    #[arg(long)]
    pub mic: Option<PathBuf>,
    /// Write everything the assistant says into this WAV file instead of a speaker.
    #[arg(long)]
    pub speaker: Option<PathBuf>,
    /// Run only these services (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Do not start the embedded broker (another machine runs it).
    #[arg(long)]
    pub no_broker: bool,
}

impl UpArgs {
    fn mic_is_stdin(&self) -> bool {
        self.mic.as_deref() == Some(Path::new("-"))
    }
}

/// A service that ran this long before failing is restarted at once rather than after a back-off.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

pub async fn run(file: &NodeFile, args: UpArgs) -> anyhow::Result<ExitCode> {
    let me = std::env::current_exe().context("cannot find the hearth binary's own path")?;
    let plan = up_plan(file, &args.only, args.no_broker, &me)?;
    let shutdown = Shutdown::on_signals();
    let mut arbiter = None;
    if plan.broker {
        let config: BrokerConfig = file.section("broker")?;
        let handle = hearth_broker::start(&config)?;
        info!(mqtt = %handle.mqtt, "embedded broker ready");
        arbiter = super::broker::start_arbiter(file, &handle, shutdown.clone())?;
    }
    let config_path = write_child_config(file, &args)?;
    let mut tasks = Vec::new();
    for Planned { name, program } in plan.services {
        let program = match program {
            Ok(p) => p,
            Err(NotInstalled { why, fix }) => {
                warn!(service = %name, "{why}. {fix}");
                continue;
            }
        };
        let mut cmd_args = vec![];
        if BUILT_IN.contains(&name.as_str()) {
            cmd_args.extend(["service".to_string(), name.clone()]);
        } else {
            cmd_args.push("run".to_string());
        }
        cmd_args.extend(["--config".to_string(), config_path.display().to_string()]);
        // Only the audio service reads the microphone; everyone else gets no standard input.
        let stdin = name == "audio" && args.mic_is_stdin();
        let max_delay = Duration::from_secs(plan.restart_max_delay_s);
        let child = Supervised { name, program, args: cmd_args, max_delay, stdin };
        tasks.push(tokio::spawn(child.run(shutdown.clone())));
    }
    info!(config = %config_path.display(), "assistant up; Ctrl-C to stop");
    shutdown.wait().await;
    for task in tasks.into_iter().chain(arbiter) {
        let _ = task.await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the config the children read: the node file with the command line's overrides.
fn write_child_config(file: &NodeFile, args: &UpArgs) -> anyhow::Result<PathBuf> {
    let mut table = file.table().clone();
    let audio = table.entry("audio").or_insert_with(|| toml::Value::Table(Default::default()));
    if let toml::Value::Table(audio) = audio {
        if args.mic_is_stdin() {
            audio.insert("input".into(), "stdin".into());
        } else if let Some(mic) = &args.mic {
            anyhow::ensure!(mic.is_file(), "--mic {}: no such file", mic.display());
            audio.insert("input".into(), format!("file:{}", absolute(mic)?.display()).into());
        }
        if let Some(speaker) = &args.speaker {
            audio.insert("output".into(), format!("file:{}", absolute(speaker)?.display()).into());
        }
    }
    serve_browsers(&mut table);
    // Children must agree with this process on where state lives, even when it came from defaults.
    table.entry("data_dir").or_insert_with(|| file.node.data_dir.display().to_string().into());
    let dir = file.node.data_dir.join("run");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("hearth-up.toml");
    std::fs::write(&path, toml::to_string(&table)?).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// With the web satellite on (`[web.users]` set), browsers choose their own room names: this machine's
/// wake word and listener then serve every site unless `sites` says otherwise.
fn serve_browsers(table: &mut toml::Table) {
    let web_on = table.get("web").and_then(|w| w.get("users")).and_then(toml::Value::as_table).is_some_and(|u| !u.is_empty());
    if !web_on {
        return;
    }
    for service in ["wake", "listen"] {
        if let toml::Value::Table(t) = table.entry(service).or_insert_with(|| toml::Value::Table(Default::default())) {
            t.entry("sites").or_insert_with(|| toml::Value::Array(vec!["*".into()]));
        }
    }
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    Ok(if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir()?.join(p) })
}

struct Supervised {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    max_delay: Duration,
    /// Hand this process's standard input to the child (`--mic -`).
    stdin: bool,
}

impl Supervised {
    /// Runs the child until shutdown, restarting it with a doubling back-off when it exits.
    async fn run(self, shutdown: Shutdown) {
        let mut delay = Duration::from_secs(1);
        loop {
            let started = Instant::now();
            let mut child = match self.spawn() {
                Ok(c) => c,
                Err(error) => {
                    warn!(service = %self.name, %error, "cannot start");
                    return;
                }
            };
            let status = tokio::select! {
                status = child.wait() => status,
                _ = shutdown.wait() => {
                    stop(&mut child).await;
                    return;
                }
            };
            if started.elapsed() > HEALTHY_RUN {
                delay = Duration::from_secs(1);
            }
            warn!(service = %self.name, status = ?status.ok(), restart_in_s = delay.as_secs(), "service exited; restarting");
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.wait() => return,
            }
            delay = (delay * 2).min(self.max_delay);
        }
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .env("HEARTH_LOG_PLAIN", "1")
            .stdin(if self.stdin { Stdio::inherit() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // If `hearth up` itself is killed, its children must not linger holding devices and models.
        // SAFETY: prctl is async-signal-safe and only affects the child being set up.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        for stream in [child.stdout.take().map(Stream::Out), child.stderr.take().map(Stream::Err)].into_iter().flatten() {
            tokio::spawn(prefix_lines(self.name.clone(), stream));
        }
        Ok(child)
    }
}

enum Stream {
    Out(tokio::process::ChildStdout),
    Err(tokio::process::ChildStderr),
}

async fn prefix_lines(name: String, stream: Stream) {
    match stream {
        Stream::Out(s) => forward(name, BufReader::new(s)).await,
        Stream::Err(s) => forward(name, BufReader::new(s)).await,
    }
}

async fn forward<R: tokio::io::AsyncRead + Unpin>(name: String, reader: BufReader<R>) {
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[{name:>6}] {line}");
    }
}

/// SIGTERM, then SIGKILL after five seconds.
async fn stop(child: &mut Child) {
    if let Some(pid) = child.id() {
        // SAFETY: sending a signal to our own child's pid.
        unsafe {
            libc::kill(pid as i32, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(Duration::from_secs(5), child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}
