//! A real Home Assistant Core for the tests: started from its own venv on a free port with a fresh
//! config directory, onboarded headless through its REST API (owner account, token, the remaining
//! analytics and integration steps), and given the MQTT integration through its config flow, the way a user's
//! browser would. The REST API reads states and calls services; a websocket subscription records
//! every state change, so a test can say what Home Assistant showed at every moment, not just now.

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tungstenite::{Message as WsMessage, WebSocket};

use crate::http::{request, Body, Response};

/// Home Assistant takes its time on a loaded machine, most of all the first start.
pub const START_WAIT: Duration = Duration::from_secs(240);

/// The venv's python: `$HEARTH_HA_PYTHON` (set by scripts/test.sh), else the install script's default.
/// `None` (the suite is skipped, and says so) only when neither is set up.
pub fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HEARTH_HA_PYTHON") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "HEARTH_HA_PYTHON={} does not exist: run scripts/install-home-assistant.sh", p.display());
        return Some(p);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let p = home.join(".cache/hearth/ha-venv/bin/python");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("skipping: no Home Assistant venv at {} (run scripts/install-home-assistant.sh)", p.display());
        None
    }
}

/// One state change as Home Assistant recorded it.
#[derive(Debug, Clone)]
pub struct Change {
    pub entity_id: String,
    /// `None` when the entity was removed.
    pub state: Option<String>,
}

pub struct HomeAssistant {
    child: Child,
    pub url: String,
    pub version: String,
    port: u16,
    token: String,
    pub mqtt_entry_id: String,
    changes: Arc<Mutex<Vec<Change>>>,
    ws_requests: mpsc::Sender<(Value, mpsc::Sender<Value>)>,
    log: PathBuf,
}

impl Drop for HomeAssistant {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HomeAssistant {
    /// Starts Home Assistant on a free port, onboards it and connects it to the broker at `mqtt_port`.
    pub async fn start(python: &Path, dir: &Path, mqtt_port: u16) -> anyhow::Result<HomeAssistant> {
        HomeAssistant::start_with(python, dir, mqtt_port, "").await
    }

    /// As [`HomeAssistant::start`], with `extra` appended to `configuration.yaml` (files it includes must
    /// be in `<dir>/config` before the start).
    pub async fn start_with(python: &Path, dir: &Path, mqtt_port: u16, extra: &str) -> anyhow::Result<HomeAssistant> {
        let port = hearth_broker::free_loopback_port()?.port();
        let config = dir.join("config");
        std::fs::create_dir_all(&config)?;
        std::fs::write(
            config.join("configuration.yaml"),
            format!(
                "homeassistant:\n  name: Hearth test\n  latitude: 52.37\n  longitude: 4.89\n  elevation: 0\n  \
                 unit_system: metric\n  time_zone: UTC\n  currency: EUR\n  country: NL\n\
                 http:\n  server_host: 127.0.0.1\n  server_port: {port}\n\
                 logger:\n  default: warning\n  logs:\n    homeassistant.components.mqtt: info\n{extra}"
            ),
        )?;
        let log = dir.join("home-assistant.log");
        let child = Command::new(python)
            .args(["-m", "homeassistant", "--config"])
            .arg(&config)
            .args(["--log-file"])
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} -m homeassistant", python.display()))?;
        let url = format!("http://127.0.0.1:{port}");
        let mut ha = HomeAssistant {
            child,
            url,
            version: String::new(),
            port,
            token: String::new(),
            mqtt_entry_id: String::new(),
            changes: Arc::default(),
            ws_requests: mpsc::channel().0,
            log,
        };
        ha.wait_up().await?;
        ha.onboard().await?;
        let (ws_requests, changes) = record_changes(port, &ha.token)?;
        ha.ws_requests = ws_requests;
        ha.changes = changes;
        ha.version = ha.get("/api/config").await?["version"].as_str().unwrap_or_default().to_string();
        ha.add_mqtt(mqtt_port).await?;
        Ok(ha)
    }

    /// The end of Home Assistant's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    async fn wait_up(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("Home Assistant exited with {status}:\n{}", self.log_tail());
            }
            if let Ok(r) = self.send("GET", "/api/onboarding", Body::None, false).await {
                if r.status == 200 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("Home Assistant did not answer within {START_WAIT:?}:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The onboarding a browser does: the owner account, a token for it, then the remaining steps.
    async fn onboard(&mut self) -> anyhow::Result<()> {
        let client_id = format!("{}/", self.url);
        let user = json!({"client_id": client_id, "name": "Test", "username": "test", "password": "hearth-test-pw", "language": "en"});
        let user = self.send("POST", "/api/onboarding/users", Body::Json(user), false).await?.json()?;
        let code = user["auth_code"].as_str().context("no auth_code from onboarding")?.to_string();
        let form = format!("grant_type=authorization_code&code={code}&client_id={}", percent_encode(&client_id));
        let token = self.send("POST", "/auth/token", Body::Form(form), false).await?.json()?;
        self.token = token["access_token"].as_str().context("no access_token")?.to_string();
        // The core_config step is left out: it sets up the weather and Google Translate integrations,
        // which need the internet and packages this venv does not carry.
        self.post("/api/onboarding/analytics", json!({})).await?;
        self.post("/api/onboarding/integration", json!({"client_id": client_id, "redirect_uri": format!("{}/?auth_callback=1", self.url)}))
            .await?;
        Ok(())
    }

    /// The MQTT integration through its config flow, as a user adds it.
    async fn add_mqtt(&mut self, port: u16) -> anyhow::Result<()> {
        let flow = self.post("/api/config/config_entries/flow", json!({"handler": "mqtt", "show_advanced_options": false})).await?;
        let mut step = flow;
        for _ in 0..3 {
            match step["type"].as_str() {
                Some("create_entry") => {
                    self.mqtt_entry_id = step["result"]["entry_id"].as_str().context("no entry id")?.to_string();
                    return Ok(());
                }
                Some("form") => {
                    let id = step["flow_id"].as_str().context("no flow id")?.to_string();
                    step = self.post(&format!("/api/config/config_entries/flow/{id}"), json!({"broker": "127.0.0.1", "port": port})).await?;
                }
                _ => bail!("unexpected MQTT config flow step: {step}"),
            }
        }
        bail!("the MQTT config flow did not finish: {step}")
    }

    /// Unloads and loads the MQTT integration: its client disconnects, reconnects, subscribes again
    /// and sends the birth message, as after a Home Assistant restart.
    pub async fn reload_mqtt(&self) -> anyhow::Result<()> {
        self.post(&format!("/api/config/config_entries/entry/{}/reload", self.mqtt_entry_id), json!({})).await?;
        Ok(())
    }

    async fn send(&self, method: &'static str, path: &str, body: Body, auth: bool) -> anyhow::Result<Response> {
        let (port, path) = (self.port, path.to_string());
        let token = auth.then(|| self.token.clone());
        tokio::task::spawn_blocking(move || request(port, method, &path, token.as_deref(), body)).await?
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self.send("GET", path, Body::None, true).await?;
        if r.status != 200 {
            bail!("GET {path}: {} {}", r.status, r.body);
        }
        r.json()
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let r = self.send("POST", path, Body::Json(body.clone()), true).await?;
        if !(200..300).contains(&r.status) {
            bail!("POST {path} {body}: {} {}", r.status, r.body);
        }
        Ok(r.json().unwrap_or(Value::Null))
    }

    /// The entity's state object, `None` when Home Assistant has no such entity.
    pub async fn state(&self, entity_id: &str) -> anyhow::Result<Option<Value>> {
        let r = self.send("GET", &format!("/api/states/{entity_id}"), Body::None, true).await?;
        match r.status {
            404 => Ok(None),
            200 => Ok(Some(r.json()?)),
            other => bail!("GET state of {entity_id}: {other} {}", r.body),
        }
    }

    /// Calls a service such as `switch.turn_on` on one entity.
    pub async fn call(&self, service: &str, entity_id: &str, mut data: Value) -> anyhow::Result<()> {
        let (domain, name) = service.split_once('.').context("service is domain.name")?;
        data["entity_id"] = json!(entity_id);
        self.post(&format!("/api/services/{domain}/{name}"), data).await?;
        Ok(())
    }

    /// A websocket command (`config/device_registry/list`, …) and its result.
    pub fn ws(&self, command: Value) -> anyhow::Result<Value> {
        let (tx, rx) = mpsc::channel();
        self.ws_requests.send((command.clone(), tx)).context("websocket thread gone")?;
        let answer = rx.recv_timeout(Duration::from_secs(30)).with_context(|| format!("no answer to {command}"))?;
        if answer["success"] != json!(true) {
            bail!("{command} failed: {answer}");
        }
        Ok(answer["result"].clone())
    }

    /// Every state change recorded so far.
    pub fn changes(&self) -> Vec<Change> {
        self.changes.lock().unwrap().clone()
    }

    /// How many changes are recorded; pass it to [`HomeAssistant::changes_since`] later.
    pub fn mark(&self) -> usize {
        self.changes.lock().unwrap().len()
    }

    /// The states `entity_id` took since `mark`, in order.
    pub fn changes_since(&self, mark: usize, entity_id: &str) -> Vec<Option<String>> {
        self.changes()[mark..].iter().filter(|c| c.entity_id == entity_id).map(|c| c.state.clone()).collect()
    }

    /// Waits until `entity_id`'s state object satisfies `pred`; returns it.
    pub async fn wait_for(&self, entity_id: &str, what: &str, wait: Duration, pred: impl Fn(Option<&Value>) -> bool) -> Value {
        let deadline = Instant::now() + wait;
        let mut last: Option<Value>;
        loop {
            match self.state(entity_id).await {
                Ok(state) => {
                    if pred(state.as_ref()) {
                        return state.unwrap_or(Value::Null);
                    }
                    last = state;
                }
                Err(e) => last = Some(json!(e.to_string())),
            }
            if Instant::now() > deadline {
                panic!("{entity_id}: waited {wait:?} for {what}; last state {last:?}\nHome Assistant's log:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until `entity_id` shows `state`.
    pub async fn wait_state(&self, entity_id: &str, state: &str, wait: Duration) -> Value {
        self.wait_for(entity_id, &format!("state {state:?}"), wait, |s| s.is_some_and(|s| s["state"] == state)).await
    }
}

/// `:` and `/` of a URL as a form value.
fn percent_encode(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.~".contains(c) { c.to_string() } else { format!("%{:02X}", c as u32) })
        .collect()
}

/// Connects the websocket API, subscribes to state changes, and serves request/answer commands, all
/// on one named thread (tungstenite's socket is not split in two).
#[allow(clippy::type_complexity)]
fn record_changes(port: u16, token: &str) -> anyhow::Result<(mpsc::Sender<(Value, mpsc::Sender<Value>)>, Arc<Mutex<Vec<Change>>>)> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    let (mut socket, _) = tungstenite::client(format!("ws://127.0.0.1:{port}/api/websocket"), stream.try_clone()?)
        .map_err(|e| anyhow::anyhow!("websocket handshake: {e}"))?;
    let read_json = |socket: &mut WebSocket<TcpStream>| -> anyhow::Result<Value> {
        loop {
            if let WsMessage::Text(text) = socket.read()? {
                return Ok(serde_json::from_str(&text)?);
            }
        }
    };
    read_json(&mut socket)?; // auth_required
    socket.send(WsMessage::Text(json!({"type": "auth", "access_token": token}).to_string()))?;
    let auth = read_json(&mut socket)?;
    if auth["type"] != "auth_ok" {
        bail!("websocket auth failed: {auth}");
    }
    socket.send(WsMessage::Text(json!({"id": 1, "type": "subscribe_events", "event_type": "state_changed"}).to_string()))?;
    stream.set_read_timeout(Some(Duration::from_millis(50)))?;

    let changes: Arc<Mutex<Vec<Change>>> = Arc::default();
    let (tx, rx) = mpsc::channel::<(Value, mpsc::Sender<Value>)>();
    let recorded = changes.clone();
    std::thread::Builder::new().name("ha-websocket".into()).spawn(move || {
        let mut next_id = 2u64;
        let mut waiting: HashMap<u64, mpsc::Sender<Value>> = HashMap::new();
        loop {
            while let Ok((mut command, answer)) = rx.try_recv() {
                command["id"] = json!(next_id);
                waiting.insert(next_id, answer);
                next_id += 1;
                if socket.send(WsMessage::Text(command.to_string())).is_err() {
                    return;
                }
            }
            match socket.read() {
                Ok(WsMessage::Text(text)) => {
                    let Ok(msg) = serde_json::from_str::<Value>(&text) else { continue };
                    if msg["type"] == "event" {
                        let data = &msg["event"]["data"];
                        let change = Change {
                            entity_id: data["entity_id"].as_str().unwrap_or_default().to_string(),
                            state: data["new_state"]["state"].as_str().map(str::to_owned),
                        };
                        recorded.lock().unwrap().push(change);
                    } else if msg["type"] == "result" {
                        if let Some(answer) = msg["id"].as_u64().and_then(|id| waiting.remove(&id)) {
                            let _ = answer.send(msg);
                        }
                    }
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    })?;
    Ok((tx, changes))
}
