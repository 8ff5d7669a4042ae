//! A tiny HTTP/1.1 server on 127.0.0.1 for tests: each request goes to a handler that picks a reply,
//! including ones a real service should never send (hang, drop, garbage).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_bus::tool::ToolCall;
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub struct Request {
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
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
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
    let target = lines.next()?.split_whitespace().nth(1)?.to_owned();
    let user_agent = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| v.trim().to_owned());
    let path = target.split('?').next().unwrap_or_default().to_owned();
    Some((stream, Request { target, path, user_agent }))
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
