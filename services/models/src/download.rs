//! Fetching one file: into `<dest>.part`, resumed with an HTTP Range request after an interruption
//! (in this run or an earlier one), hashed while it streams, checked against the expected size and
//! sha256, then renamed into place in one step. A failed check deletes the `.part`: a file is either
//! absent, resumable as `.part`, or complete and verified.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, RANGE};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::catalog::ModelFile;
use crate::progress::Progress;
use crate::ModelsError;

/// How downloads behave.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// Limit for opening a connection.
    pub connect_timeout: Duration,
    /// Limit for a stalled transfer: no byte received for this long.
    pub read_timeout: Duration,
    /// Tries per file, the first included; each retry resumes where the last stopped.
    pub attempts: u32,
    /// Pause before the first retry, doubled for each further one.
    pub retry_delay: Duration,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(30),
            attempts: 4,
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// The HTTP client for downloads.
pub fn client(options: &PullOptions) -> Result<reqwest::Client, ModelsError> {
    reqwest::Client::builder()
        .user_agent(format!("Hearth/{} (model manager; +{})", env!("CARGO_PKG_VERSION"), env!("CARGO_PKG_REPOSITORY")))
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.read_timeout)
        .build()
        .map_err(ModelsError::Client)
}

/// `<dest>.part`.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// What one attempt ended with.
enum Attempt {
    /// The whole body arrived.
    Complete,
    /// The transfer broke off; the `.part` holds what came and can be resumed.
    Interrupted(String),
}

/// Downloads `file` to `dest` and returns its sha256. `dest` is only ever written by the final rename.
pub async fn fetch(
    client: &reqwest::Client,
    options: &PullOptions,
    model: &str,
    file: &ModelFile,
    dest: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<String, ModelsError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ModelsError::Io { path, source }
    };
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let part = part_path(dest);
    let result = fetch_into(client, options, model, file, dest, &part, progress).await;
    if result.is_err() {
        // Keep a `.part` only when it holds bytes a later pull can resume from.
        if std::fs::metadata(&part).is_ok_and(|m| m.len() == 0) {
            remove(&part)?;
        }
    }
    result
}

async fn fetch_into(
    client: &reqwest::Client,
    options: &PullOptions,
    model: &str,
    file: &ModelFile,
    dest: &Path,
    part: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<String, ModelsError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ModelsError::Io { path, source }
    };
    let part = part.to_path_buf();
    let mut attempt = 0;
    // Bytes kept from an earlier attempt or run may be stale (the file changed upstream, or a server
    // says our range is past its end): when such a file fails its check, start over once from zero.
    let mut used_old_bytes = false;
    let mut started_over = false;
    let digest = loop {
        attempt += 1;
        let mut offset = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        if file.size.is_some_and(|size| offset > size) {
            remove(&part)?;
            offset = 0;
        }
        used_old_bytes |= offset > 0;
        let outcome = if file.size.is_some_and(|size| offset == size) {
            Ok(Attempt::Complete)
        } else {
            transfer(client, model, file, &part, offset, progress).await
        };
        match outcome {
            Ok(Attempt::Complete) => {}
            Ok(Attempt::Interrupted(why)) if attempt < options.attempts => {
                let delay = options.retry_delay * 2u32.saturating_pow(attempt - 1);
                warn!(url = %file.url, attempt, error = %why, "download interrupted; resuming");
                progress(&Progress::Retrying { model, path: &file.path, attempt, error: &why });
                tokio::time::sleep(delay).await;
                continue;
            }
            Ok(Attempt::Interrupted(why)) if std::fs::metadata(&part).is_ok_and(|m| m.len() > 0) => {
                return Err(ModelsError::Interrupted { url: file.url.clone(), part, attempts: attempt, message: why })
            }
            Ok(Attempt::Interrupted(why)) => {
                return Err(ModelsError::NothingArrived { url: file.url.clone(), attempts: attempt, message: why })
            }
            // Our .part is at least as long as the server's file: check it as it is.
            Err(ModelsError::RangeNotSatisfiable { .. }) => {}
            Err(e) => return Err(e),
        }
        progress(&Progress::Verifying { model, path: &file.path });
        let (len, digest) = hash_file(&part)?;
        let failure = if let Some(expected) = file.size.filter(|s| *s != len) {
            Some(ModelsError::SizeMismatch { url: file.url.clone(), expected, actual: len })
        } else {
            file.sha256.as_deref().filter(|h| !h.eq_ignore_ascii_case(&digest)).map(|expected| {
                ModelsError::ChecksumMismatch { url: file.url.clone(), expected: expected.into(), actual: digest.clone() }
            })
        };
        match failure {
            None => break digest,
            Some(e) => {
                remove(&part)?;
                if used_old_bytes && !started_over && attempt < options.attempts {
                    warn!(url = %file.url, error = %e, "resumed download failed its check; starting over");
                    started_over = true;
                    continue;
                }
                return Err(e);
            }
        }
    };
    std::fs::rename(&part, dest).map_err(io(dest))?;
    if let Some(parent) = dest.parent() {
        // Make the rename durable; not every filesystem lets a directory be synced.
        let _ = std::fs::File::open(parent).and_then(|d| d.sync_all());
    }
    info!(path = %dest.display(), sha256 = %digest, "model file installed");
    Ok(digest)
}

/// One GET from `offset`, appended to `part`.
async fn transfer(
    client: &reqwest::Client,
    model: &str,
    file: &ModelFile,
    part: &Path,
    offset: u64,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Attempt, ModelsError> {
    let mut request = client.get(&file.url);
    if offset > 0 {
        request = request.header(RANGE, format!("bytes={offset}-"));
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        // No connection at all (no network, no DNS, nothing listening): retrying at once would only
        // repeat the same long error, so say it once, plainly.
        Err(e) if e.is_connect() || e.is_timeout() => return Err(unreachable(&file.url, &e)),
        // Anything else before the response (the connection reset mid-request) is retried like a
        // transfer that broke off.
        Err(e) => return Ok(Attempt::Interrupted(error_chain(&e))),
    };
    let status = response.status();
    let start = match status {
        StatusCode::PARTIAL_CONTENT if offset > 0 => {
            let range = response.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
            match range_start(range) {
                Some(s) if s == offset => offset,
                _ => return Err(ModelsError::BadRange { url: file.url.clone(), asked: offset, got: range.into() }),
            }
        }
        // No range asked, or the server ignores ranges: start over.
        s if s.is_success() => 0,
        StatusCode::RANGE_NOT_SATISFIABLE if offset > 0 => {
            return Err(ModelsError::RangeNotSatisfiable { url: file.url.clone() })
        }
        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
            return Ok(Attempt::Interrupted(format!("the server answered HTTP {s}")));
        }
        s => return Err(ModelsError::Http { url: file.url.clone(), status: s.as_u16() }),
    };
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("text/html") && !file.path.ends_with(".html") {
        return Err(ModelsError::NotAFile { url: file.url.clone(), content_type: content_type.into() });
    }
    let total = file.size.or_else(|| response.content_length().map(|len| start + len));

    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(part)
        .map_err(|source| ModelsError::Io { path: part.into(), source })?;
    out.set_len(start).and_then(|_| out.seek(SeekFrom::Start(start))).map_err(|source| ModelsError::Io { path: part.into(), source })?;
    progress(&Progress::Start { model, path: &file.path, total, resumed_from: start });
    let mut done = start;
    let outcome = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                out.write_all(&chunk).map_err(|source| ModelsError::Io { path: part.into(), source })?;
                done += chunk.len() as u64;
                progress(&Progress::Bytes { model, path: &file.path, done, total });
                if file.size.is_some_and(|size| done > size) {
                    break Attempt::Complete; // too long: the size check rejects it
                }
            }
            Ok(None) => break Attempt::Complete,
            Err(e) => break Attempt::Interrupted(error_chain(&e)),
        }
    };
    out.sync_all().map_err(|source| ModelsError::Io { path: part.into(), source })?;
    // A body shorter than announced is an interruption even when the connection closed cleanly.
    if let (Attempt::Complete, Some(total)) = (&outcome, total) {
        if done < total {
            return Ok(Attempt::Interrupted(format!("connection closed after {done} of {total} bytes")));
        }
    }
    Ok(outcome)
}

/// `bytes 100-199/200` → 100.
fn range_start(content_range: &str) -> Option<u64> {
    content_range.trim().strip_prefix("bytes ")?.split('-').next()?.trim().parse().ok()
}

/// Length and lower-case hex sha256 of a file.
pub fn hash_file(path: &Path) -> Result<(u64, String), ModelsError> {
    let io = |source| ModelsError::Io { path: path.into(), source };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn remove(path: &Path) -> Result<(), ModelsError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ModelsError::Io { path: path.into(), source: e }),
        _ => Ok(()),
    }
}

/// [`ModelsError::Unreachable`] for `url`, with the innermost cause in a few words.
fn unreachable(url: &str, e: &reqwest::Error) -> ModelsError {
    let host = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| url.to_owned());
    let mut innermost: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = innermost.source() {
        innermost = next;
    }
    let reason = match innermost.downcast_ref::<std::io::Error>().map(std::io::Error::kind) {
        _ if e.is_timeout() => "no answer in time".to_string(),
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
        Some(std::io::ErrorKind::NetworkUnreachable) => "network unreachable".to_string(),
        _ if innermost.to_string().contains("lookup") || innermost.to_string().contains("resolve") => {
            "name lookup failed".to_string()
        }
        _ => innermost.to_string(),
    };
    ModelsError::Unreachable { host, reason }
}

/// An error with its causes, which reqwest keeps in `source()`.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_range() {
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("bytes 0-0/*"), Some(0));
        assert_eq!(range_start("items 1-2/3"), None);
    }

    #[test]
    fn hashes_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            hash_file(&p).unwrap(),
            (3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string())
        );
        assert_eq!(part_path(Path::new("/m/whisper/x.bin")), Path::new("/m/whisper/x.bin.part"));
    }
}
