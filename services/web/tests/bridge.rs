//! The web service on a real broker, driven by a TLS client that trusts the generated certificate:
//! the page is served, bad logins and anonymous bridges are refused, and a logged-in session is one
//! room on the bus (microphone frames in; chunks, chimes and state out; played and push-to-talk back).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hearth_bus::audio::{AudioFrame, Chime, ChimeKind, PlayChunk, Played};
use hearth_bus::brain::{AssistantState, StateChanged};
use hearth_bus::listen::{ListenReason, StartListening};
use hearth_bus::service::{ServiceInfo, ServiceState, ServiceStatus};
use hearth_bus::{Bus, BusConfig, Inbox, Message, Shutdown};
use hearth_web::WebConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const WAIT: Duration = Duration::from_secs(20);

struct Site {
    addr: std::net::SocketAddr,
    connector: TlsConnector,
    inbox: Inbox,
    talker: hearth_bus::BusClient,
    shutdown: Shutdown,
    _dir: tempfile::TempDir,
}

async fn start() -> Site {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (test, _) = Bus::connect(&bus, "test", "default").unwrap();
    let Bus { client: talker, inbox } = test;
    talker.wait_connected(WAIT).await.unwrap();
    talker.subscribe("hearth/#").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let addr = hearth_broker::free_loopback_port().unwrap();
    let config = WebConfig {
        listen: addr,
        users: BTreeMap::from([("alex".to_string(), "correct horse".to_string())]),
        data_dir: Some(dir.path().into()),
        bus: bus.clone(),
        ..WebConfig::default()
    };
    let (web, _conn) = Bus::connect_starting(&bus, "web", "default").unwrap();
    let shutdown = Shutdown::new();
    tokio::spawn(hearth_web::run(config.clone(), web, shutdown.clone()));
    let mut site = Site { addr, connector: connector(&config), inbox, talker, shutdown, _dir: dir };
    wait_for(&mut site.inbox, |e| {
        e.topic == "hearth/default/service/web/status" && e.decode::<ServiceStatus>().is_some_and(|s| s.state == ServiceState::Online)
    })
    .await;
    site
}

/// A client that trusts exactly the certificate the service generated (what importing it does).
fn connector(config: &WebConfig) -> TlsConnector {
    // Reads the certificate the service generated (it generates it first when the test gets here first).
    let cert = hearth_web::tls::certificate(config).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(client))
}

async fn wait_for(inbox: &mut Inbox, pred: impl Fn(&hearth_bus::Envelope) -> bool) -> hearth_bus::Envelope {
    inbox.next_matching(WAIT, pred).await.expect("timed out waiting for a bus message")
}

async fn next_on<M: Message>(inbox: &mut Inbox, site: &str) -> M {
    let topic = hearth_bus::topic::topic_of::<M>(site);
    wait_for(inbox, |e| e.topic == topic && e.decode::<M>().is_some()).await.decode::<M>().unwrap()
}

impl Site {
    async fn tls(&self) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        self.connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap()
    }

    /// One HTTPS request; the status code, the headers and the body.
    async fn request(&self, method: &str, path: &str, headers: &str, body: &str) -> (u16, String, String) {
        let mut tls = self.tls().await;
        let raw = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Content-Length: {}\r\n\r\n{body}", body.len());
        tls.write_all(raw.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(WAIT, tls.read_to_end(&mut out)).await.unwrap();
        let text = String::from_utf8_lossy(&out).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let code = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (code, head.to_string(), body.to_string())
    }

    async fn login(&self, password: &str) -> Option<String> {
        let body = format!("{{\"user\":\"alex\",\"password\":\"{password}\"}}");
        let (code, head, _) = self.request("POST", "/login", "", &body).await;
        if code != 200 {
            return None;
        }
        let line = head.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))?;
        Some(line.split_once(':')?.1.trim().split(';').next()?.to_string())
    }
}

#[tokio::test]
async fn page_login_and_one_room_on_the_bus() {
    let mut site = start().await;
    let (code, _, page) = site.request("GET", "/", "", "").await;
    assert_eq!(code, 200);
    assert!(page.contains("Push to talk") && page.contains("/app.js"));
    let (code, _, worklet) = site.request("GET", "/worklet.js", "", "").await;
    assert_eq!(code, 200);
    assert!(worklet.contains("registerProcessor"));

    // Refused: a wrong password, and the bridge without a login.
    assert_eq!(site.login("wrong horse").await, None);
    let (code, _, _) = site.request("GET", "/session", "", "").await;
    assert_eq!(code, 401);
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let (code, _, _) = site.request("GET", "/ws?site=bedroom", upgrade, "").await;
    assert_eq!(code, 401, "anonymous clients are refused");

    let cookie = site.login("correct horse").await.expect("the right password logs in");
    let (code, _, _) = site.request("GET", "/session", &format!("Cookie: {cookie}\r\n"), "").await;
    assert_eq!(code, 200);

    let mut request = "wss://localhost/ws?site=bedroom".into_client_request().unwrap();
    request.headers_mut().insert("Cookie", cookie.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(request, site.tls().await).await.unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains("\"site\":\"bedroom\""), "{hello:?}");
    // Its subscriptions are in place once its info is out (one client's packets keep their order).
    wait_for(&mut site.inbox, |e| {
        e.topic == "hearth/bedroom/service/audio/info"
            && e.decode::<ServiceInfo>().is_some_and(|i| i.capabilities.contains(&"web-satellite".to_string()))
    })
    .await;

    // The microphone: a 20 ms frame becomes the room's audio frame.
    let samples: Vec<i16> = (0..320).map(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16).collect();
    ws.send(WsMessage::Binary(hearth_bus::audio::samples_to_pcm(&samples))).await.unwrap();
    let frame: AudioFrame = next_on(&mut site.inbox, "bedroom").await;
    assert_eq!((frame.sample_rate_hz, frame.channels, frame.samples()), (16_000, 1, samples.clone()));

    // The speaker: a reply chunk and a chime reach the page, with their PCM.
    let chunk = PlayChunk {
        utterance_id: "u1".into(),
        session_id: Some("s1".into()),
        seq: 0,
        sample_rate_hz: 22_050,
        channels: 1,
        pcm: hearth_bus::audio::samples_to_pcm(&samples),
        last: true,
    };
    site.talker.publish("bedroom", &chunk).await.unwrap();
    let meta = ws.next().await.unwrap().unwrap();
    let meta: serde_json::Value = serde_json::from_str(meta.to_text().unwrap()).unwrap();
    assert_eq!((meta["type"].as_str(), meta["utterance_id"].as_str(), meta["sample_rate_hz"].as_u64()), (Some("chunk"), Some("u1"), Some(22_050)));
    let pcm = ws.next().await.unwrap().unwrap().into_data();
    assert_eq!(pcm, chunk.pcm);
    site.talker.publish("bedroom", &Chime { chime: ChimeKind::Listening, session_id: None }).await.unwrap();
    let meta: serde_json::Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert!(meta["utterance_id"].as_str().unwrap().starts_with("chime-listening-"), "{meta}");
    assert!(ws.next().await.unwrap().unwrap().into_data().len() > 1000, "the chime's sound comes along");

    // The page says what it played, and asks to talk.
    ws.send(WsMessage::Text(r#"{"type":"played","utterance_id":"u1","session_id":"s1","duration_ms":15,"interrupted":false}"#.into())).await.unwrap();
    let played: Played = next_on(&mut site.inbox, "bedroom").await;
    assert_eq!((played.utterance_id.as_str(), played.duration_ms, played.interrupted), ("u1", 15, false));
    ws.send(WsMessage::Text(r#"{"type":"push_to_talk"}"#.into())).await.unwrap();
    let start: StartListening = next_on(&mut site.inbox, "bedroom").await;
    assert_eq!(start.reason, ListenReason::PushToTalk);

    // The assistant's state is shown on the page.
    let speaking = StateChanged { state: AssistantState::Speaking, session_id: None, timestamp_ms: 0 };
    site.talker.publish("bedroom", &speaking).await.unwrap();
    let state: serde_json::Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!((state["type"].as_str(), state["state"].as_str()), (Some("state"), Some("speaking")));

    // Leaving takes the room's audio offline.
    ws.close(None).await.unwrap();
    let status: ServiceStatus = wait_for(&mut site.inbox, |e| {
        e.topic == "hearth/bedroom/service/audio/status" && e.decode::<ServiceStatus>().is_some_and(|s| s.state == ServiceState::Offline)
    })
    .await
    .decode()
    .unwrap();
    assert_eq!(status.state, ServiceState::Offline);
    site.shutdown.trigger();
}
