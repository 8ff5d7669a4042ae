//! A small HTTP/1.1 file server on 127.0.0.1 that honours Range requests and can misbehave on purpose:
//! drop the connection part-way, ignore ranges, or answer errors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hearth_models::{Model, ModelFile};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a request asked for.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub range: Option<String>,
}

/// How the server behaves; changeable while it runs.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// The next this-many answers stop after `drop_after` body bytes and close the connection.
    pub drops_left: u32,
    pub drop_after: u64,
    /// Answer every request with the whole file (200), as servers without range support do.
    pub ignore_range: bool,
    /// Answer with this status, content type and body instead of the file.
    pub fixed: Option<(u16, &'static str, &'static str)>,
}

#[derive(Clone)]
pub struct FileServer {
    pub base: String,
    pub files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    pub behaviour: Arc<Mutex<Behaviour>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl FileServer {
    pub async fn start() -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = FileServer {
            base: format!("http://{}", listener.local_addr().unwrap()),
            files: Default::default(),
            behaviour: Default::default(),
            seen: Default::default(),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move { s.serve(stream).await });
            }
        });
        server
    }

    pub fn put(&self, path: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(path.into(), bytes);
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn serve(&self, mut stream: TcpStream) {
        // One request per connection (we answer `Connection: close`).
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let head = String::from_utf8_lossy(&buf).into_owned();
        let mut lines = head.lines();
        let path = lines.next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("/").to_owned();
        let range = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("range"))
            .map(|(_, v)| v.trim().to_owned());
        self.seen.lock().unwrap().push(Seen { path: path.clone(), range: range.clone() });

        let behaviour = self.behaviour.lock().unwrap().clone();
        if let Some((status, content_type, body)) = behaviour.fixed {
            let head = format!("HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
            return;
        }
        let Some(file) = self.files.lock().unwrap().get(&path).cloned() else {
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            return;
        };
        let len = file.len() as u64;
        let start = range
            .as_deref()
            .filter(|_| !behaviour.ignore_range)
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<u64>().ok());
        let head = match start {
            Some(s) if s >= len => {
                let head = format!("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                return;
            }
            Some(s) => format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes {s}-{}/{len}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                len - 1,
                len - s
            ),
            None => format!("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"),
        };
        let body = &file[start.unwrap_or(0) as usize..];
        let _ = stream.write_all(head.as_bytes()).await;
        if behaviour.drops_left > 0 {
            self.behaviour.lock().unwrap().drops_left -= 1;
            let cut = (behaviour.drop_after as usize).min(body.len());
            let _ = stream.write_all(&body[..cut]).await;
            let _ = stream.flush().await;
            // Close without sending the rest: the client sees a body shorter than announced.
            return;
        }
        for piece in body.chunks(16 * 1024) {
            if stream.write_all(piece).await.is_err() {
                return;
            }
        }
    }
}

/// Deterministic bytes that do not compress or repeat in short runs.
pub fn blob(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A one-model catalog served by `server`.
pub fn model(name: &str, files: Vec<ModelFile>) -> Model {
    Model { name: name.into(), description: format!("test model {name}"), default: true, licence: "test licence".into(), files }
}

pub fn file(server: &FileServer, url_path: &str, dest: &str, size: Option<u64>, sha256: Option<String>) -> ModelFile {
    ModelFile { url: server.url(url_path), path: dest.into(), size, sha256 }
}
