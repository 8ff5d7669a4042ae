//! Taking one picture from the configured source: a V4L2 device, a snapshot URL or a file. Every source ends in
//! the same checked decoder ([`crate::picture`]), and every failure says, in a few spoken words, why.

use std::time::Duration;

use image::RgbImage;
use thiserror::Error;

use crate::config::{CameraConfig, CameraSource};
use crate::picture::{self, PictureError};

#[derive(Debug, Error)]
pub enum CameraError {
    #[error("the camera is not available: {0}")]
    Unavailable(String),
    #[error("the camera is busy: {0}")]
    Busy(String),
    #[error("the camera did not answer within {0} ms")]
    Timeout(u64),
    #[error("the camera's picture cannot be used: {0}")]
    BadPicture(#[from] PictureError),
    #[error("the camera's URL answered HTTP {0}")]
    Http(u16),
    #[error("the camera failed: {0}")]
    Failed(String),
}

impl CameraError {
    /// The reason in a few words, to follow "I can't see anything right now: ". Details stay in the log.
    pub fn spoken(&self) -> &'static str {
        match self {
            CameraError::Unavailable(_) | CameraError::Http(_) | CameraError::Failed(_) => "the camera is not available.",
            CameraError::Busy(_) => "the camera is busy.",
            CameraError::Timeout(_) => "the camera did not answer in time.",
            CameraError::BadPicture(_) => "the camera's picture could not be read.",
        }
    }
}

/// Takes one picture, within `config.timeout_ms`. A device is opened for this picture only.
pub async fn capture(config: &CameraConfig) -> Result<RgbImage, CameraError> {
    let timeout = Duration::from_millis(config.timeout_ms);
    let max_bytes = config.max_image_bytes;
    match config.source() {
        CameraSource::File(path) => {
            let bytes = read_file(&path, max_bytes).await?;
            Ok(picture::decode(&bytes, max_bytes)?)
        }
        CameraSource::Url(url) => {
            let bytes = tokio::time::timeout(timeout, fetch(&url, timeout, max_bytes))
                .await
                .map_err(|_| CameraError::Timeout(config.timeout_ms))??;
            Ok(picture::decode(&bytes, max_bytes)?)
        }
        CameraSource::Device(path) => device_capture(path, config, timeout, max_bytes).await,
    }
}

#[cfg(target_os = "linux")]
async fn device_capture(path: std::path::PathBuf, config: &CameraConfig, timeout: Duration, max_bytes: u64) -> Result<RgbImage, CameraError> {
    let (width, height, settle) = (config.width, config.height, config.settle_frames);
    let job = tokio::task::spawn_blocking(move || crate::v4l2::capture(&path, width, height, settle, timeout, max_bytes));
    // The blocking read has its own timeout; this one also covers a driver that hangs in open or set_format
    // (the thread then finishes on its own and the device closes with it).
    match tokio::time::timeout(timeout + Duration::from_millis(500), job).await {
        Ok(Ok(result)) => result.map_err(|e| match e {
            CameraError::Timeout(0) => CameraError::Timeout(timeout.as_millis() as u64),
            other => other,
        }),
        Ok(Err(join)) => Err(CameraError::Failed(format!("capture thread: {join}"))),
        Err(_) => Err(CameraError::Timeout(timeout.as_millis() as u64)),
    }
}

#[cfg(not(target_os = "linux"))]
async fn device_capture(path: std::path::PathBuf, _: &CameraConfig, _: Duration, _: u64) -> Result<RgbImage, CameraError> {
    Err(CameraError::Unavailable(format!("{}: V4L2 cameras are supported on Linux only", path.display())))
}

async fn read_file(path: &std::path::Path, max_bytes: u64) -> Result<Vec<u8>, CameraError> {
    let meta = tokio::fs::metadata(path).await.map_err(|e| CameraError::Unavailable(format!("{}: {e}", path.display())))?;
    if meta.len() > max_bytes {
        return Err(PictureError::TooLarge { bytes: meta.len(), max_bytes }.into());
    }
    tokio::fs::read(path).await.map_err(|e| CameraError::Unavailable(format!("{}: {e}", path.display())))
}

/// GETs a snapshot, reading at most `max_bytes` of body (a misconfigured URL may stream video forever).
async fn fetch(url: &str, timeout: Duration, max_bytes: u64) -> Result<Vec<u8>, CameraError> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| CameraError::Failed(format!("HTTP client: {e}")))?;
    let mut response = client.get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            CameraError::Timeout(timeout.as_millis() as u64)
        } else {
            // reqwest's message names the URL, which may hold a token: keep only the kind of failure.
            CameraError::Unavailable(if e.is_connect() { "cannot connect to the snapshot URL".into() } else { "the snapshot request failed".into() })
        }
    })?;
    if !response.status().is_success() {
        return Err(CameraError::Http(response.status().as_u16()));
    }
    if let Some(len) = response.content_length() {
        if len > max_bytes {
            return Err(PictureError::TooLarge { bytes: len, max_bytes }.into());
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        if e.is_timeout() {
            CameraError::Timeout(timeout.as_millis() as u64)
        } else {
            CameraError::Failed("the snapshot download broke off".into())
        }
    })? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > max_bytes {
            return Err(PictureError::TooLarge { bytes: body.len() as u64, max_bytes }.into());
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn camera(file: &std::path::Path) -> CameraConfig {
        CameraConfig { file: Some(file.to_path_buf()), ..CameraConfig::default() }
    }

    #[tokio::test]
    async fn file_source_reads_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("room.jpg");
        let jpeg = picture::to_jpeg(&RgbImage::from_pixel(32, 24, image::Rgb([200, 10, 10])), 90).unwrap();
        std::fs::write(&good, &jpeg).unwrap();
        assert_eq!(capture(&camera(&good)).await.unwrap().dimensions(), (32, 24));

        let empty = dir.path().join("empty.jpg");
        std::fs::File::create(&empty).unwrap().flush().unwrap();
        let err = capture(&camera(&empty)).await.unwrap_err();
        assert!(matches!(err, CameraError::BadPicture(PictureError::Empty)), "{err}");
        assert_eq!(err.spoken(), "the camera's picture could not be read.");

        let missing = dir.path().join("missing.jpg");
        let err = capture(&camera(&missing)).await.unwrap_err();
        assert_eq!(err.spoken(), "the camera is not available.");
    }

    /// A one-shot HTTP server on a free port that answers with `status` and `body` (or never answers).
    async fn serve_once(status: u16, body: Vec<u8>, hang: bool) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 2048];
            let _ = socket.read(&mut buf).await;
            if hang {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            }
            let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
        });
        format!("http://{addr}/snapshot.jpg")
    }

    fn url_camera(url: String) -> CameraConfig {
        CameraConfig { url: Some(url), timeout_ms: 500, ..CameraConfig::default() }
    }

    #[tokio::test]
    async fn url_source_timeouts_errors_and_garbage() {
        let jpeg = picture::to_jpeg(&RgbImage::from_pixel(16, 16, image::Rgb([0, 0, 200])), 90).unwrap();
        let url = serve_once(200, jpeg, false).await;
        assert_eq!(capture(&url_camera(url)).await.unwrap().dimensions(), (16, 16));

        let url = serve_once(200, b"<html>login required</html>".to_vec(), false).await;
        let err = capture(&url_camera(url)).await.unwrap_err();
        assert!(matches!(err, CameraError::BadPicture(PictureError::NotAnImage)), "{err}");

        let url = serve_once(404, Vec::new(), false).await;
        assert!(matches!(capture(&url_camera(url)).await.unwrap_err(), CameraError::Http(404)));

        let url = serve_once(200, Vec::new(), true).await;
        let started = std::time::Instant::now();
        let err = capture(&url_camera(url)).await.unwrap_err();
        assert!(matches!(err, CameraError::Timeout(_)), "{err}");
        assert_eq!(err.spoken(), "the camera did not answer in time.");
        assert!(started.elapsed() < Duration::from_secs(10));

        // Nobody listening.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x.jpg", listener.local_addr().unwrap());
        drop(listener);
        let err = capture(&url_camera(url)).await.unwrap_err();
        assert_eq!(err.spoken(), "the camera is not available.", "{err}");
    }
}
