//! The web satellite in a real browser: headless Chromium, its fake microphone playing a WAV file
//! ("hey jarvis, what time is it"), against `hearth up` with the real wake word and Silero VAD. The page
//! loads, refuses a bad login, logs in, becomes the room `study`; the wake word is heard from the
//! browser's audio on the server; the reply comes back and plays in the page (its own output level meter
//! moves and it reports the reply played); a screenshot of the page after the turn is saved as a test
//! artifact. Driven over the DevTools protocol (a WebSocket, no extra driver).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hearth_bus::brain::Reply;
use hearth_bus::listen::ListeningStarted;
use hearth_bus::service::{ServiceState, ServiceStatus};
use hearth_bus::wake::WakeDetected;
use hearth_bus::BusConfig;
use hearth_integration_tests::speech::{silence, speak, write_wav};
use hearth_integration_tests::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        std::thread::sleep(Duration::from_millis(500));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn link(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(from, to).unwrap();
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().map(PathBuf::from).find(|p| p.is_file())
}

/// One page's DevTools connection.
struct Page {
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    next_id: u64,
}

impl Page {
    /// Finds the first page of the browser listening on `port` and connects to it.
    async fn attach(port: u16) -> Page {
        let started = Instant::now();
        let url = loop {
            if let Some(url) = page_url(port).await {
                break url;
            }
            assert!(started.elapsed() < WAIT, "Chromium's DevTools never listed a page");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (ws, _) = tokio_tungstenite::client_async(url.as_str(), tcp).await.expect("DevTools WebSocket");
        Page { ws, next_id: 1 }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params});
        self.ws.send(WsMessage::Text(msg.to_string())).await.unwrap();
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next()).await.expect("DevTools answers").unwrap().unwrap();
            let Ok(v) = serde_json::from_str::<Value>(m.to_text().unwrap_or("")) else { continue };
            if v["id"].as_u64() == Some(id) {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Evaluates `js` in the page (awaiting a promise) as if the user did it, and returns its value.
    async fn eval(&mut self, js: &str) -> Value {
        let params = json!({"expression": js, "awaitPromise": true, "returnByValue": true, "userGesture": true});
        let r = self.call("Runtime.evaluate", params).await;
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// Polls `js` until it is true.
    async fn until(&mut self, what: &str, js: &str) {
        let started = Instant::now();
        while self.eval(js).await != Value::Bool(true) {
            let state = self.eval("JSON.stringify(window.hearth || null)").await;
            assert!(started.elapsed() < Duration::from_secs(90), "page never got {what}: {state}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The DevTools WebSocket address of the browser's first page, from its `/json/list`.
async fn page_url(port: u16) -> Option<String> {
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    tcp.write_all(b"GET /json/list HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.ok()?;
    // Chromium keeps the connection open: read the head, then exactly Content-Length bytes.
    let mut out = Vec::new();
    let body = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let mut chunk = [0u8; 4096];
            let n = tcp.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            out.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&out).to_string();
            let (head, body) = text.split_once("\r\n\r\n")?;
            let length: usize = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().ok()))??;
            if body.len() >= length {
                return Some(body.to_string());
            }
        }
    })
    .await
    .ok()??;
    let list: Value = serde_json::from_str(&body).ok()?;
    let page = list.as_array()?.iter().find(|t| t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with("https://")))?;
    page["webSocketDebuggerUrl"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn a_browser_is_a_room() {
    let Some(browser) = chromium().or_else(|| skip("chromium is not installed (apt-get install chromium)")) else { return };
    let Some(melspectrogram) = shared_file("models/openwakeword/melspectrogram.onnx") else { return };
    let shared = melspectrogram.parent().and_then(|d| d.parent()).expect("models folder").to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    for f in ["melspectrogram.onnx", "embedding_model.onnx", "hey_jarvis_v0.1.onnx"] {
        link(&shared.join("openwakeword").join(f), &models.join("openwakeword").join(f));
    }
    link(&shared.join("silero-vad/silero_vad.onnx"), &models.join("silero-vad/silero_vad.onnx"));

    // The browser's microphone: a pause (the page connects), the wake word, a request, then silence.
    let mut mic = silence(2.0);
    mic.extend(speak("hey jarvis", "en-us", dir.path()));
    mic.extend(silence(0.4));
    mic.extend(speak("what time is it", "en-us", dir.path()));
    mic.extend(silence(6.0));
    let mic_path = write_wav(&dir.path().join("mic.wav"), &mic);

    // Speech recognition when its program is built (CI builds it); without it the brain's transcript
    // timeout answers, which is a reply to play all the same.
    let hearth = workspace_binary("hearth");
    let with_asr = hearth.with_file_name("hearth-asr").is_file();
    let mut services = vec!["wake", "listen", "brain", "timers", "tools", "tts", "web"];
    if with_asr {
        let whisper = dir.path().join("whisper-phrase.bin");
        hearth_e2e::phrase_whisper("what time is it", "fixture", &whisper).unwrap();
        link(&whisper, &models.join("whisper/ggml-tiny.en.bin"));
        services.push("asr");
    }
    // Without speech recognition the brain's transcript timeout makes the reply; keep it short then.
    let transcript_timeout_ms = if with_asr { 20_000 } else { 3_000 };
    let ports: Vec<u16> = (0..4).map(|_| hearth_broker::free_loopback_port().unwrap().port()).collect();
    let config = dir.path().join("hearth.toml");
    let services = services.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{data}\"\nmodels_dir = \"{models}\"\n\
             [bus]\nport = {p0}\n\
             [broker]\nmqtt = \"127.0.0.1:{p0}\"\nmqtt5 = \"127.0.0.1:{p1}\"\nwebsocket = \"127.0.0.1:{p2}\"\n\
             [brain]\nfollow_up_ms = 0\ntranscript_timeout_ms = {transcript_timeout_ms}\n\
             [web]\nlisten = \"127.0.0.1:{p3}\"\n[web.users]\nalex = \"correct horse\"\n\
             [up]\nservices = [{services}]\n",
            data = dir.path().join("data").display(),
            models = models.display(),
            p0 = ports[0],
            p1 = ports[1],
            p2 = ports[2],
            p3 = ports[3],
        ),
    )
    .unwrap();
    let bus = BusConfig { host: "127.0.0.1".into(), port: ports[0], ..BusConfig::default() };
    let _assistant = Killed(
        Command::new(&hearth)
            .args(["--config", config.to_str().unwrap(), "up"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("hearth up starts"),
    );
    let broker = std::net::SocketAddr::from(([127, 0, 0, 1], ports[0]));
    let started = Instant::now();
    while std::net::TcpStream::connect_timeout(&broker, Duration::from_millis(100)).is_err() {
        assert!(started.elapsed() < WAIT, "broker did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut probe = Probe::new(&bus, &["hearth/#"]).await;
    let online = |s: &ServiceStatus| s.state == ServiceState::Online;
    probe.next_on::<ServiceStatus>("hearth/default/service/web/status", online).await;
    probe.next_on::<ServiceStatus>("hearth/default/service/wake/status", online).await;
    probe.next_on::<ServiceStatus>("hearth/default/service/listen/status", online).await;

    let profile = dir.path().join("chromium");
    let _chromium = Killed(
        Command::new(&browser)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
                // The certificate is Hearth's self-signed one; trusting it in a fresh profile is what a
                // user does once by hand.
                "--ignore-certificate-errors",
                "--window-size=480,760",
            ])
            .arg(format!("--use-file-for-fake-audio-capture={}%noloop", mic_path.display()))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("https://localhost:{}/", ports[3]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts"),
    );
    let port_file = profile.join("DevToolsActivePort");
    let started = Instant::now();
    let devtools_port: u16 = loop {
        if let Some(p) = std::fs::read_to_string(&port_file).ok().and_then(|t| t.lines().next()?.parse().ok()) {
            break p;
        }
        assert!(started.elapsed() < WAIT, "Chromium did not open its DevTools port");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut page = Page::attach(devtools_port).await;

    // A bad login is refused, on the page and by the server.
    page.until("the login form", "!!document.getElementById('login') && !document.getElementById('login').hidden").await;
    let refused = page
        .eval("fetch('/login', {method: 'POST', body: JSON.stringify({user: 'alex', password: 'wrong horse'})}).then(r => r.status)")
        .await;
    assert_eq!(refused, json!(401));
    page.eval("document.getElementById('user').value = 'alex'; document.getElementById('password').value = 'wrong horse'; document.getElementById('login').requestSubmit(); true").await;
    page.until("the refusal shown", "!document.getElementById('login-error').hidden").await;
    let anonymous = page.eval("fetch('/session').then(r => r.status)").await;
    assert_eq!(anonymous, json!(401));

    // The right login, the room, the microphone.
    page.eval("document.getElementById('password').value = 'correct horse'; document.getElementById('login').requestSubmit(); true").await;
    page.until("the room controls", "!document.getElementById('room').hidden").await;
    page.eval("document.getElementById('site').value = 'study'; document.getElementById('connect').click(); true").await;
    page.until("the bridge connected", "window.hearth.connected === true").await;

    // The wake word, heard on the server from the browser's audio, starts a turn in the study.
    let wake = probe.next_on::<WakeDetected>("hearth/study/wake/detected", |_| true).await;
    assert_eq!(wake.word, "hey_jarvis");
    probe.next_on::<ListeningStarted>("hearth/study/listen/started", |s| s.session_id == wake.session_id).await;
    let reply = probe.next_on::<Reply>("hearth/study/brain/reply", |r| r.session_id == wake.session_id).await;
    assert!(!reply.text.is_empty(), "{reply:?}");
    if with_asr {
        assert!(reply.text.starts_with("It's "), "{reply:?}");
    }

    // The reply plays in the page: the page shows it, reports it played, and its output meter moved.
    let shown = serde_json::to_string(&reply.text).unwrap();
    page.until("the reply text", &format!("window.hearth.reply === {shown}")).await;
    page.until(
        "the reply played",
        "window.hearth.played.some(p => !p.utterance_id.startsWith('chime-') && p.duration_ms > 300 && !p.interrupted)",
    )
    .await;
    page.until("the listening chime played", "window.hearth.played.some(p => p.utterance_id.startsWith('chime-listening-'))").await;
    let peak = page.eval("window.hearth.outPeak").await.as_f64().unwrap_or(0.0);
    assert!(peak > 0.01, "the page's output level meter saw the sound: peak RMS {peak}");
    let mic_peak = page.eval("window.hearth.micPeak").await.as_f64().unwrap_or(0.0);
    assert!(mic_peak > 0.005, "the page's microphone meter saw the speech: peak RMS {mic_peak}");

    let shot = page.call("Page.captureScreenshot", json!({"format": "png"})).await;
    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, shot["data"].as_str().unwrap()).unwrap();
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let path = artifacts.join("web-satellite.png");
    std::fs::write(&path, &png).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "a real screenshot");
    eprintln!("screenshot of the page after the turn: {}", path.display());
}
