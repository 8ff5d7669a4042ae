//! The camera on the bus: answers `camera/capture` on its node's site with one `camera/frame` (JPEG), keeps
//! `camera/state` (retained) up to date and reports each capture on `camera/captured`. Captures run one at a time;
//! nothing is written to disk unless `camera.save_dir` is set.
//!
//! The off switch (`camera/enabled/set`) is stored before `camera/enabled` reports it, and the stored switch is
//! in force and published before the first request is taken: a camera switched off opens no device and sends
//! no picture, across restarts, until someone switches it on. A request while off is refused at once.

use std::path::Path;
use std::time::Instant;

use hearth_bus::ids::now_ms;
use hearth_bus::service::ServiceState;
use hearth_bus::vision::{
    CameraActivity, CameraEnabled, CameraState, CaptureRequest, Captured, Frame, SetCameraEnabled, CAMERA_OFF_REASON,
};
use hearth_bus::{Bus, BusClient, Shutdown};
use tracing::{info, warn};

use crate::camera::{self, CameraError};
use crate::config::CameraConfig;
use crate::picture;
use crate::switch::{self, StoredSwitch};
use crate::VisionError;

/// Serves capture requests for the node's site until shutdown.
pub async fn run_camera(config: CameraConfig, bus: Bus, shutdown: Shutdown) -> Result<(), VisionError> {
    let Bus { client, mut inbox } = bus;
    let site = client.site().to_string();
    let source = config.source().label();
    let state_path = config.state_path();
    let mut enabled = state_path.as_deref().map_or_else(StoredSwitch::default, switch::load).enabled;
    // Before any request can arrive: the stored switch is in force and Home Assistant and the brain see it.
    client.publish(&site, &CameraEnabled { enabled }).await?;
    client.subscribe_site::<SetCameraEnabled>(&site).await?;
    client.subscribe_site::<CaptureRequest>(&site).await?;
    client.set_capabilities(vec![format!("camera:{source}")]).await?;
    client.set_status(ServiceState::Online, None).await?;
    publish_state(&client, &site, &source, CameraActivity::Idle).await;
    info!(%site, %source, enabled, "camera ready");
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                if let Some(set) = envelope.decode::<SetCameraEnabled>() {
                    enabled = set.enabled;
                    info!(%site, enabled, "camera switched");
                    switch::save_in_background(state_path.clone(), StoredSwitch { enabled }).await;
                    if let Err(e) = client.publish(&site, &CameraEnabled { enabled }).await {
                        warn!(error = %e, "could not publish the camera switch");
                    }
                } else if let Some(request) = envelope.decode::<CaptureRequest>() {
                    if enabled {
                        on_capture_request(&client, &site, &config, &source, request).await;
                    } else {
                        refuse(&client, &site, &source, request).await;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Switched off: no device is opened; the vision service learns why at once instead of waiting it out.
async fn refuse(client: &BusClient, site: &str, source: &str, request: CaptureRequest) {
    info!(request_id = %request.request_id, "capture refused: the camera is switched off");
    let frame = Frame {
        request_id: request.request_id,
        jpeg: Vec::new(),
        width: 0,
        height: 0,
        source: source.to_string(),
        capture_ms: 0,
        error: Some(CAMERA_OFF_REASON.to_string()),
    };
    if let Err(e) = client.publish(site, &frame).await {
        warn!(error = %e, "could not publish the refusal");
    }
}

async fn on_capture_request(client: &BusClient, site: &str, config: &CameraConfig, source: &str, request: CaptureRequest) {
    publish_state(client, site, source, CameraActivity::Capturing).await;
    let start = Instant::now();
    let result = take_jpeg(config).await;
    publish_state(client, site, source, CameraActivity::Idle).await;
    let capture_ms = start.elapsed().as_millis() as u64;
    let (frame, captured) = match result {
        Ok((jpeg, width, height)) => {
            info!(request_id = %request.request_id, width, height, jpeg_bytes = jpeg.len(), capture_ms, "captured");
            if let Some(dir) = &config.save_dir {
                save(dir, &jpeg).await;
            }
            let captured = Captured {
                request_id: request.request_id.clone(),
                session_id: request.session_id.clone(),
                ok: true,
                source: source.to_string(),
                width,
                height,
                jpeg_bytes: jpeg.len() as u64,
                capture_ms,
                error: None,
                timestamp_ms: now_ms(),
            };
            let frame = Frame { request_id: request.request_id, jpeg, width, height, source: source.to_string(), capture_ms, error: None };
            (frame, captured)
        }
        Err(e) => {
            warn!(request_id = %request.request_id, error = %e, capture_ms, "capture failed");
            let captured = Captured {
                request_id: request.request_id.clone(),
                session_id: request.session_id.clone(),
                ok: false,
                source: source.to_string(),
                width: 0,
                height: 0,
                jpeg_bytes: 0,
                capture_ms,
                error: Some(e.to_string()),
                timestamp_ms: now_ms(),
            };
            let frame = Frame {
                request_id: request.request_id,
                jpeg: Vec::new(),
                width: 0,
                height: 0,
                source: source.to_string(),
                capture_ms,
                error: Some(e.spoken().to_string()),
            };
            (frame, captured)
        }
    };
    if let Err(e) = client.publish(site, &frame).await {
        warn!(error = %e, "could not publish the frame");
    }
    if let Err(e) = client.publish(site, &captured).await {
        warn!(error = %e, "could not publish the capture event");
    }
}

/// One picture, scaled to fit the bus, as JPEG.
async fn take_jpeg(config: &CameraConfig) -> Result<(Vec<u8>, u32, u32), CameraError> {
    let rgb = picture::fit(camera::capture(config).await?, config.max_edge_px);
    let (width, height) = rgb.dimensions();
    let quality = config.jpeg_quality;
    let jpeg = tokio::task::spawn_blocking(move || picture::to_jpeg(&rgb, quality))
        .await
        .map_err(|e| CameraError::Failed(format!("encoder thread: {e}")))??;
    Ok((jpeg, width, height))
}

async fn save(dir: &Path, jpeg: &[u8]) {
    let path = dir.join(format!("capture-{}.jpg", now_ms()));
    let result = async {
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::write(&path, jpeg).await
    }
    .await;
    match result {
        Ok(()) => info!(path = %path.display(), "capture saved"),
        Err(e) => warn!(path = %path.display(), error = %e, "could not save the capture"),
    }
}

async fn publish_state(client: &BusClient, site: &str, source: &str, state: CameraActivity) {
    let message = CameraState { state, source: source.to_string(), timestamp_ms: now_ms() };
    if let Err(e) = client.publish(site, &message).await {
        warn!(error = %e, "could not publish the camera state");
    }
}
