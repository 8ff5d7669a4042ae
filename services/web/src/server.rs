//! The HTTPS listener: the page and its scripts for anyone, the login, and the WebSocket bridge for
//! logged-in pages only (an anonymous upgrade gets 401: the LAN listener refuses anonymous clients).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth_bus::service::ServiceState;
use hearth_bus::topic::validate_site;
use hearth_bus::{Bus, BusError, Shutdown};
use serde::Deserialize;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;
use tracing::{info, warn};

use crate::config::WebConfig;
use crate::http::{read_request, respond, Request};

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const WORKLET_JS: &str = include_str!("../assets/worklet.js");
const COOKIE: &str = "hearth_session";
/// How long a client has to send its request after connecting.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum WebError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Logged-in sessions: token → expiry.
#[derive(Default)]
struct Sessions(Mutex<HashMap<String, Instant>>);

impl Sessions {
    fn open(&self, lifetime: Duration) -> String {
        let token: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, expiry| *expiry > now);
        map.insert(token.clone(), now + lifetime);
        token
    }

    fn valid(&self, token: Option<&str>) -> bool {
        let Some(token) = token else { return false };
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token).is_some_and(|expiry| *expiry > Instant::now())
    }
}

#[derive(Deserialize)]
struct Login {
    user: String,
    password: String,
}

struct Shared {
    config: WebConfig,
    sessions: Sessions,
    shutdown: Shutdown,
}

/// Serves the web satellite until shutdown. Without users or a certificate it stays `unavailable`
/// and says what to set.
pub async fn run(config: WebConfig, bus: Bus, shutdown: Shutdown) -> Result<(), WebError> {
    let client = bus.client;
    if config.users.is_empty() {
        let detail = "no [web.users]: add a user and a password to the config to serve the web satellite".to_string();
        warn!("{detail}");
        client.set_status(ServiceState::Unavailable, Some(detail)).await?;
        shutdown.wait().await;
        return Ok(());
    }
    let cert = match crate::tls::certificate(&config) {
        Ok(c) => c,
        Err(error) => {
            client.set_status(ServiceState::Unavailable, Some(format!("web satellite certificate: {error}"))).await?;
            shutdown.wait().await;
            return Ok(());
        }
    };
    let listener = match TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(error) => {
            let detail = format!("cannot listen on {} (`web.listen`): {error}", config.listen);
            client.set_status(ServiceState::Unavailable, Some(detail)).await?;
            shutdown.wait().await;
            return Ok(());
        }
    };
    let addr = listener.local_addr().unwrap_or(config.listen);
    if cert.generated {
        info!(cert = %cert.cert_path.display(), "self-signed certificate: import this file into each browser (or accept its warning once) to trust it");
    }
    client.set_capabilities(vec![format!("web:https://{addr}/")]).await?;
    client.set_status(ServiceState::Online, None).await?;
    info!(%addr, "web satellite ready");
    let acceptor = TlsAcceptor::from(cert.server.clone());
    let shared = Arc::new(Shared { config, sessions: Sessions::default(), shutdown: shutdown.clone() });
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let (acceptor, shared) = (acceptor.clone(), shared.clone());
                tokio::spawn(async move {
                    match acceptor.accept(tcp).await {
                        Ok(tls) => handle(tls, shared).await,
                        Err(error) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                    }
                });
            }
        }
    }
    Ok(())
}

async fn handle<S>(mut stream: S, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Ok(Ok(request)) = tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut stream)).await else { return };
    let result = match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/") | ("GET", "/index.html") => respond(&mut stream, "200 OK", "text/html; charset=utf-8", &[], INDEX_HTML.as_bytes()).await,
        ("GET", "/app.js") => respond(&mut stream, "200 OK", "text/javascript", &[], APP_JS.as_bytes()).await,
        ("GET", "/worklet.js") => respond(&mut stream, "200 OK", "text/javascript", &[], WORKLET_JS.as_bytes()).await,
        ("POST", "/login") => on_login(&mut stream, &request, &shared).await,
        ("GET", "/session") => {
            let ok = shared.sessions.valid(request.cookie(COOKIE));
            let (status, body) = if ok { ("200 OK", "{\"ok\":true}") } else { ("401 Unauthorized", "{\"ok\":false}") };
            respond(&mut stream, status, "application/json", &[], body.as_bytes()).await
        }
        ("GET", "/ws") if request.is_websocket_upgrade() => return on_upgrade(stream, request, shared).await,
        _ => respond(&mut stream, "404 Not Found", "text/plain", &[], b"not found").await,
    };
    if let Err(error) = result {
        tracing::debug!(%error, "could not answer a request");
    }
}

async fn on_login<S: tokio::io::AsyncWrite + Unpin>(stream: &mut S, request: &Request, shared: &Shared) -> std::io::Result<()> {
    let login: Option<Login> = serde_json::from_slice(&request.body).ok();
    let Some(login) = login.filter(|l| shared.config.check_login(&l.user, &l.password)) else {
        warn!("web satellite: a login was refused");
        // A refused login costs a moment, so passwords cannot be tried quickly.
        tokio::time::sleep(Duration::from_millis(500)).await;
        return respond(stream, "401 Unauthorized", "application/json", &[], b"{\"ok\":false}").await;
    };
    let lifetime = Duration::from_secs(shared.config.session_hours * 3600);
    let token = shared.sessions.open(lifetime);
    info!(user = %login.user, "web satellite: logged in");
    let cookie = format!("{COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}", lifetime.as_secs());
    respond(stream, "200 OK", "application/json", &[("Set-Cookie", cookie)], b"{\"ok\":true}").await
}

async fn on_upgrade<S>(mut stream: S, request: Request, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if !shared.sessions.valid(request.cookie(COOKIE)) {
        let _ = respond(&mut stream, "401 Unauthorized", "text/plain", &[], b"log in first").await;
        return;
    }
    let site = request.query_param("site").unwrap_or_default().to_string();
    let key = request.header("sec-websocket-key").map(str::to_owned);
    let (Ok(()), Some(key)) = (validate_site(&site), key) else {
        let _ = respond(&mut stream, "400 Bad Request", "text/plain", &[], b"need ?site=<room> and a WebSocket key").await;
        return;
    };
    let accept = derive_accept_key(key.as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes()).await.is_err() {
        return;
    }
    let ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
    if let Err(error) = crate::bridge::run(ws, site, &shared.config.bus, shared.shutdown.clone()).await {
        warn!(%error, "web satellite session ended with an error");
    }
}
