//! For tests of this crate and of the whole system: a tiny HTTP/1.1 server on 127.0.0.1 where each
//! request goes to a handler that picks a reply, including ones a real service should never send (hang,
//! drop, garbage), and an Open-Meteo stand-in that knows Paris. Never used by the service itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_bus::tool::ToolCall;
use serde_json::json;
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path with its query, as sent.
    pub target: String,
    pub path: String,
    pub user_agent: Option<String>,
}

impl Request {
    /// A query parameter, decoded.
    pub fn query(&self, key: &str) -> Option<String> {
        let url = Url::parse(&format!("http://x{}", self.target)).ok()?;
        url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
    }
}

#[derive(Debug, Clone)]
pub enum Reply {
    /// Status and JSON body.
    Json(u16, String),
    /// Never answers (until the test ends).
    Hang,
    /// Bytes as they are, then close.
    Raw(Vec<u8>),
}

pub fn json(body: serde_json::Value) -> Reply {
    Reply::Json(200, body.to_string())
}

pub struct TestServer {
    pub base: String,
    pub hits: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Self::start_on(listener, handler)
    }

    /// Serves on `listener`, which the caller may have bound elsewhere than loopback (in another network
    /// namespace, say: a socket stays in the namespace it was made in). Needs a Tokio runtime.
    pub fn start_on(listener: std::net::TcpListener, handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TestServer {
        listener.set_nonblocking(true).unwrap();
        let listener = TcpListener::from_std(listener).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let seen = hits.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (handler, seen) = (handler.clone(), seen.clone());
                tokio::spawn(async move {
                    if let Some(request) = read_request(stream).await {
                        let (stream, request) = request;
                        seen.lock().unwrap().push(request.clone());
                        respond(stream, handler(&request)).await;
                    }
                });
            }
        });
        TestServer { base, hits, task }
    }

    pub fn paths(&self) -> Vec<String> {
        self.hits.lock().unwrap().iter().map(|r| r.path.clone()).collect()
    }
}

async fn read_request(mut stream: TcpStream) -> Option<(TcpStream, Request)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.lines();
    let mut request_line = lines.next()?.split_whitespace();
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let user_agent = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| v.trim().to_owned());
    let path = target.split('?').next().unwrap_or_default().to_owned();
    Some((stream, Request { method, target, path, user_agent }))
}

async fn respond(mut stream: TcpStream, reply: Reply) {
    match reply {
        Reply::Json(status, body) => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
        }
        Reply::Hang => tokio::time::sleep(Duration::from_secs(120)).await,
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
        }
    }
    let _ = stream.shutdown().await;
}

pub fn call(tool: &str, arguments: serde_json::Value) -> ToolCall {
    ToolCall { call_id: format!("c-{tool}"), session_id: Some("s1".into()), tool: tool.into(), arguments }
}

/// Open-Meteo's geocoding answer: Paris (two of them, the first is France's), Tokyo, nothing for other names.
pub fn geocoding(r: &Request) -> Reply {
    match r.query("name").as_deref() {
        Some("Paris") => json(json!({"results": [
            {"id": 2988507, "name": "Paris", "latitude": 48.85341, "longitude": 2.3488, "country": "France",
             "country_code": "FR", "admin1": "Île-de-France", "timezone": "Europe/Paris"},
            {"id": 4717560, "name": "Paris", "latitude": 33.66094, "longitude": -95.55551, "country": "United States",
             "country_code": "US", "admin1": "Texas"}
        ], "generationtime_ms": 0.9})),
        Some("Tokyo") => json(json!({"results": [
            {"id": 1850147, "name": "Tokyo", "latitude": 35.6895, "longitude": 139.69171, "country": "Japan",
             "country_code": "JP", "admin1": "Tokyo", "timezone": "Asia/Tokyo"}
        ]})),
        // Open-Meteo leaves `results` out when nothing matches.
        _ => json(json!({"generationtime_ms": 0.4})),
    }
}

/// Open-Meteo's forecast answer: 14 degrees (57.6 °F) and overcast now, dry, rain tomorrow (80 % chance).
pub fn forecast(r: &Request) -> Reply {
    let fahrenheit = r.query("temperature_unit").as_deref() == Some("fahrenheit");
    let (now, lows, highs) = if fahrenheit { (57.6, [46.4, 48.2], [59.0, 59.5]) } else { (14.2, [8.0, 9.1], [15.0, 15.3]) };
    json(json!({
        "latitude": 48.86, "longitude": 2.34, "timezone": "Europe/Paris",
        "current_units": {"temperature_2m": "°C", "weather_code": "wmo code", "wind_speed_10m": "km/h"},
        "current": {"time": "2026-11-23T15:00", "interval": 900, "temperature_2m": now, "weather_code": 3, "wind_speed_10m": 11.6,
                    "precipitation": 0.0, "snowfall": 0.0},
        "daily": {"time": ["2026-11-23", "2026-11-24"], "weather_code": [3, 61],
                  "temperature_2m_max": highs, "temperature_2m_min": lows,
                  "precipitation_probability_max": [10, 80], "precipitation_sum": [0.0, 6.2], "snowfall_sum": [0.0, 0.0]}
    }))
}

/// A local Open-Meteo: `/v1/search` and `/v1/forecast` as above, 404 elsewhere. Point
/// `[tools.weather] geocoding_url` at `<base>/v1/search` and `forecast_url` at `<base>/v1/forecast`.
pub async fn open_meteo() -> TestServer {
    TestServer::start(|r| match r.path.as_str() {
        "/v1/search" => geocoding(r),
        "/v1/forecast" => forecast(r),
        _ => Reply::Json(404, "{}".into()),
    })
    .await
}

/// Wikipedia's REST summary of Paris, as its stand-in answers `/wiki/api/rest_v1/page/summary/Paris`.
pub fn paris_summary() -> Reply {
    json(json!({
        "type": "standard", "title": "Paris",
        "extract": "Paris is the capital and largest city of France. It has two million people.",
        "content_urls": {"desktop": {"page": "https://en.wikipedia.org/wiki/Paris"}}
    }))
}

/// The tool hosts of a whole-system test on one local server: Open-Meteo as [`open_meteo`], and
/// Wikipedia under `/wiki` (point `[tools.wikipedia] base_url` at `<base>/wiki`) knowing Paris.
pub async fn tool_hosts() -> TestServer {
    TestServer::start(|r| match r.path.as_str() {
        "/v1/search" => geocoding(r),
        "/v1/forecast" => forecast(r),
        "/wiki/api/rest_v1/page/summary/Paris" => paris_summary(),
        _ => Reply::Json(404, "{}".into()),
    })
    .await
}
