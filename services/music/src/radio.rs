//! Internet radio: stations found by name or genre in a keyless radio-browser directory, and their
//! streams (MP3, AAC, Ogg over HTTP or HTTPS, .pls/.m3u playlists) read for the decoder.
//!
//! Streams are asked for without ICY metadata (`Icy-MetaData: 0`), so Icecast and SHOUTcast v2
//! servers send the audio alone. A SHOUTcast v1 server that answers with the bare `ICY 200 OK` status
//! line is not understood by the HTTP client and counts as unreachable.

use std::io::Read;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use symphonia::core::io::ReadOnlySource;
use symphonia::core::probe::Hint;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::decode::Decoder;
use crate::MusicError;

/// One station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Station {
    /// As the directory spells it ("Jazz FM").
    pub name: String,
    /// The stream (or a playlist that names it).
    pub url: String,
}

/// How the decoder threads reach the network: the service's async HTTP client, driven from the
/// thread through the runtime's handle.
#[derive(Clone)]
pub struct Http {
    pub client: reqwest::Client,
    pub runtime: tokio::runtime::Handle,
    /// Time limit to connect and for the first bytes, and the longest silence of a playing stream.
    pub timeout: Duration,
}

/// Why a station could not be found or played, as said after "I can't play …: ".
#[derive(Debug, thiserror::Error)]
pub enum RadioError {
    #[error("internet radio can't be reached right now")]
    DirectoryUnreachable,
    #[error("the station can't be reached")]
    Unreachable,
    #[error("the station answered with an error")]
    Refused,
    #[error("the station's playlist names no stream")]
    EmptyPlaylist,
    #[error("the station sent nothing")]
    Silent,
}

/// Playlists followed before giving up (a playlist naming a playlist naming …).
const MAX_HOPS: usize = 3;
/// Largest playlist read, bytes.
const MAX_PLAYLIST_BYTES: usize = 64 * 1024;
/// Network reads buffered ahead of the decoder.
const AHEAD_READS: usize = 32;

/// A directory entry as radio-browser sends it (only what is used).
#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    url_resolved: String,
    #[serde(default)]
    lastcheckok: Option<u8>,
}

/// Looks a station up by name, then by genre (tag), in the radio-browser directory at `base_url`.
/// `Ok(None)`: the directory answered and has nothing.
pub async fn search(http: &Http, base_url: &str, query: &str) -> Result<Option<Station>, RadioError> {
    let base = base_url.trim_end_matches('/');
    let q = query.trim();
    for field in ["name", "tag"] {
        let request = http
            .client
            .get(format!("{base}/json/stations/search"))
            .query(&[(field, q), ("limit", "20"), ("hidebroken", "true"), ("order", "clickcount"), ("reverse", "true")]);
        let entries: Vec<Entry> = match tokio::time::timeout(http.timeout, async { request.send().await?.error_for_status()?.json().await }).await {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                warn!(error = %e, "radio directory lookup failed");
                return Err(RadioError::DirectoryUnreachable);
            }
            Err(_) => return Err(RadioError::DirectoryUnreachable),
        };
        let wanted = crate::normalize::key(q);
        let usable = |e: &&Entry| e.lastcheckok != Some(0) && !(e.url_resolved.is_empty() && e.url.is_empty());
        // An exact name first ("Jazz FM" over "Smooth Jazz FM Radio"), else the most listened to.
        let best = entries.iter().filter(usable).find(|e| crate::normalize::key(&e.name) == wanted).or_else(|| entries.iter().find(usable));
        if let Some(e) = best {
            let url = if e.url_resolved.is_empty() { e.url.clone() } else { e.url_resolved.clone() };
            debug!(station = %e.name, %url, by = field, "radio station found");
            return Ok(Some(Station { name: e.name.trim().to_string(), url }));
        }
    }
    Ok(None)
}

/// Opens a station's stream for decoding: follows .pls/.m3u playlists, then hands the body to the
/// decoder through a channel that a task on the runtime fills; a station that stops sending for
/// `timeout` ends the stream.
pub fn open(http: &Http, station: &Station, rate_hz: u32) -> Result<Decoder, MusicError> {
    let (response, content_type) = http.runtime.block_on(connect(http, &station.url)).map_err(|e| {
        warn!(station = %station.name, error = %e, "radio stream failed");
        MusicError::Decode(e.to_string())
    })?;
    let (tx, rx) = mpsc::channel(AHEAD_READS);
    let timeout = http.timeout;
    http.runtime.spawn(pump(response, tx, timeout));
    let mut hint = Hint::new();
    if let Some(ext) = extension_for(&content_type) {
        hint.with_extension(ext);
    }
    let reader = ChannelReader { rx, current: Bytes::new() };
    Decoder::from_source(Box::new(ReadOnlySource::new(reader)), hint, rate_hz)
}

async fn connect(http: &Http, url: &str) -> Result<(reqwest::Response, String), RadioError> {
    let mut url = url.to_string();
    for _ in 0..MAX_HOPS {
        // No ICY metadata asked for: the body is the audio alone.
        let send = http.client.get(&url).header("Icy-MetaData", "0").send();
        let response = match tokio::time::timeout(http.timeout, send).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                debug!(%url, error = %e, "station unreachable");
                return Err(RadioError::Unreachable);
            }
            Err(_) => return Err(RadioError::Unreachable),
        };
        if !response.status().is_success() {
            return Err(RadioError::Refused);
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !is_playlist(&content_type, &url) {
            return Ok((response, content_type));
        }
        let body = match tokio::time::timeout(http.timeout, response.bytes()).await {
            Ok(Ok(b)) => b,
            _ => return Err(RadioError::Unreachable),
        };
        let text = String::from_utf8_lossy(&body[..body.len().min(MAX_PLAYLIST_BYTES)]).into_owned();
        url = crate::playlist::parse(&text)
            .into_iter()
            .map(|e| e.location)
            .find(|l| l.starts_with("http://") || l.starts_with("https://"))
            .ok_or(RadioError::EmptyPlaylist)?;
        debug!(%url, "playlist names a stream");
    }
    Err(RadioError::EmptyPlaylist)
}

async fn pump(mut response: reqwest::Response, tx: mpsc::Sender<Result<Bytes, String>>, timeout: Duration) {
    loop {
        let next = match tokio::time::timeout(timeout, response.chunk()).await {
            Ok(Ok(Some(bytes))) => Ok(bytes),
            Ok(Ok(None)) => return,
            Ok(Err(e)) => Err(format!("the station's stream broke ({e})")),
            Err(_) => Err(RadioError::Silent.to_string()),
        };
        let failed = next.is_err();
        if tx.send(next).await.is_err() || failed {
            return;
        }
    }
}

fn is_playlist(content_type: &str, url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or_default().to_ascii_lowercase();
    ["audio/x-scpls", "audio/scpls", "application/pls", "audio/x-mpegurl", "audio/mpegurl", "application/vnd.apple.mpegurl", "application/x-mpegurl"]
        .iter()
        .any(|t| content_type.starts_with(t))
        || [".pls", ".m3u", ".m3u8"].iter().any(|e| path.ends_with(e))
}

fn extension_for(content_type: &str) -> Option<&'static str> {
    let t = content_type.split(';').next().unwrap_or_default().trim();
    match t {
        "audio/mpeg" | "audio/mp3" | "audio/mpeg3" => Some("mp3"),
        "audio/aac" | "audio/aacp" | "audio/x-aac" => Some("aac"),
        "application/ogg" | "audio/ogg" | "audio/vorbis" => Some("ogg"),
        "audio/flac" | "audio/x-flac" => Some("flac"),
        "audio/wav" | "audio/x-wav" | "audio/wave" => Some("wav"),
        _ => None,
    }
}

/// The network body as a `Read` for the decoder thread.
struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(why)) => return Err(std::io::Error::other(why)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_and_formats_are_recognised() {
        assert!(is_playlist("audio/x-scpls", "http://a/listen"));
        assert!(is_playlist("text/plain", "http://a/jazz.m3u?x=1"));
        assert!(!is_playlist("audio/mpeg", "http://a/stream"));
        assert_eq!(extension_for("audio/aacp; charset=x"), Some("aac"));
        assert_eq!(extension_for("text/html"), None);
    }
}
