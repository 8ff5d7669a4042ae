//! The camera service over a real broker (no vision model needed): it takes a frame on request, and its off
//! switch holds on the bus: while off no picture is captured or published, no capture is reported, and the
//! switch outlasts a restart of the service (it is stored in `<data_dir>/camera/state.json`).

use std::path::Path;
use std::time::Duration;

use hearth_bus::vision::{
    CameraActivity, CameraEnabled, CameraState, CaptureRequest, Captured, Frame, SetCameraEnabled, CAMERA_OFF_REASON,
};
use hearth_bus::{Bus, BusClient, BusConfig, Envelope, Inbox, Shutdown};
use hearth_vision::{picture, CameraConfig};

const WAIT: Duration = Duration::from_secs(30);
const SITE: &str = "kitchen";

/// Every camera message at the kitchen, as it arrived.
#[derive(Default)]
struct Seen {
    frames: Vec<Frame>,
    captured: Vec<Captured>,
    capturing: usize,
    /// The last state seen was idle.
    idle: bool,
    enabled: Vec<bool>,
}

impl Seen {
    fn note(&mut self, e: &Envelope) {
        if let Some(f) = e.decode::<Frame>() {
            self.frames.push(f);
        } else if let Some(c) = e.decode::<Captured>() {
            self.captured.push(c);
        } else if let Some(s) = e.decode::<CameraState>() {
            self.capturing += usize::from(s.state == CameraActivity::Capturing);
            self.idle = s.state == CameraActivity::Idle;
        } else if let Some(s) = e.decode::<CameraEnabled>() {
            self.enabled.push(s.enabled);
        }
    }
}

/// Receives until `done` holds for a message, noting everything on the way.
async fn until(inbox: &mut Inbox, seen: &mut Seen, what: &str, done: impl Fn(&Envelope) -> bool) {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let e = inbox.recv().await.expect("inbox open");
            seen.note(&e);
            if done(&e) {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "timed out waiting for {what}");
}

fn frame_for(id: &'static str) -> impl Fn(&Envelope) -> bool {
    move |e| e.decode::<Frame>().is_some_and(|f| f.request_id == id)
}

fn enabled_is(want: bool) -> impl Fn(&Envelope) -> bool {
    move |e| e.decode::<CameraEnabled>().is_some_and(|s| s.enabled == want)
}

/// Starts the camera service at the kitchen; returns once it is idle and ready for requests and its switch
/// has been seen (the two are on different topics, so in either order).
async fn start_camera(bus: &BusConfig, config: CameraConfig, inbox: &mut Inbox, seen: &mut Seen) -> (Shutdown, tokio::task::JoinHandle<()>) {
    let (camera, connection) = Bus::connect(bus, "camera", SITE).unwrap();
    camera.client.wait_connected(WAIT).await.unwrap();
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        hearth_vision::run_camera(config, camera, stop).await.unwrap();
        connection.close().await;
    });
    let switches_before = seen.enabled.len();
    seen.idle = false;
    let mut idle = false;
    while !idle || seen.enabled.len() == switches_before {
        until(inbox, seen, "the camera's idle state and switch", |e| e.is::<CameraState>() || e.is::<CameraEnabled>()).await;
        idle |= seen.idle;
    }
    (shutdown, task)
}

async fn ask(client: &BusClient, id: &str) {
    client.publish(SITE, &CaptureRequest { request_id: id.into(), session_id: None }).await.unwrap();
}

fn camera_config(picture_file: &Path, data_dir: &Path) -> CameraConfig {
    CameraConfig { file: Some(picture_file.to_path_buf()), data_dir: Some(data_dir.to_path_buf()), ..CameraConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switched_off_the_camera_takes_and_sends_nothing_and_stays_off_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let picture_file = dir.path().join("room.jpg");
    let frame = image::RgbImage::from_pixel(64, 48, image::Rgb([30, 120, 200]));
    std::fs::write(&picture_file, picture::to_jpeg(&frame, 85).unwrap()).unwrap();
    let data_dir = dir.path().join("data");

    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (test, _test_connection) = Bus::connect_tool(&bus, "test-camera-watch", SITE).unwrap();
    test.client.wait_connected(WAIT).await.unwrap();
    test.client.subscribe(format!("hearth/{SITE}/camera/#")).await.unwrap();
    let Bus { client, mut inbox } = test;
    let mut seen = Seen::default();

    // Never switched: on, and a request gets a picture.
    let (shutdown, task) = start_camera(&bus, camera_config(&picture_file, &data_dir), &mut inbox, &mut seen).await;
    assert_eq!(seen.enabled, [true], "the switch is published before the camera takes requests");
    ask(&client, "on-1").await;
    until(&mut inbox, &mut seen, "the first frame", frame_for("on-1")).await;
    assert!(!seen.frames[0].jpeg.is_empty() && seen.frames[0].error.is_none());

    // Switched off: stored, then reported; a request is refused without a picture.
    client.publish(SITE, &SetCameraEnabled { enabled: false }).await.unwrap();
    until(&mut inbox, &mut seen, "the camera switched off", enabled_is(false)).await;
    let stored = std::fs::read_to_string(data_dir.join("camera/state.json")).expect("the switch is stored");
    assert!(stored.contains("false"), "{stored}");
    ask(&client, "off-1").await;
    until(&mut inbox, &mut seen, "the refusal", frame_for("off-1")).await;
    let refusal = seen.frames.last().unwrap();
    assert!(refusal.jpeg.is_empty() && (refusal.width, refusal.height) == (0, 0), "no picture while off");
    assert_eq!(refusal.error.as_deref(), Some(CAMERA_OFF_REASON));

    // Restart with the switch still off: off again before any request, and still no picture.
    shutdown.trigger();
    tokio::time::timeout(WAIT, task).await.expect("the camera stops").unwrap();
    let (shutdown, task) = start_camera(&bus, camera_config(&picture_file, &data_dir), &mut inbox, &mut seen).await;
    assert_eq!(seen.enabled.last(), Some(&false), "the stored off is in force after the restart");
    ask(&client, "off-2").await;
    until(&mut inbox, &mut seen, "the refusal after the restart", frame_for("off-2")).await;
    assert!(seen.frames.last().unwrap().jpeg.is_empty());

    // Switched on again: pictures again. Only the two requests made while on were captured and reported (the
    // capture events are on other topics, so this last round trip also lets any stray one arrive first).
    client.publish(SITE, &SetCameraEnabled { enabled: true }).await.unwrap();
    until(&mut inbox, &mut seen, "the camera switched on", enabled_is(true)).await;
    ask(&client, "on-2").await;
    until(&mut inbox, &mut seen, "a frame once on again", frame_for("on-2")).await;
    until(&mut inbox, &mut seen, "its capture event", |e| e.decode::<Captured>().is_some_and(|c| c.request_id == "on-2")).await;
    let with_pictures: Vec<&str> = seen.frames.iter().filter(|f| !f.jpeg.is_empty()).map(|f| f.request_id.as_str()).collect();
    assert_eq!(with_pictures, ["on-1", "on-2"]);
    let reported: Vec<&str> = seen.captured.iter().map(|c| c.request_id.as_str()).collect();
    assert!(!reported.contains(&"off-1") && !reported.contains(&"off-2"), "{reported:?}");
    assert_eq!(seen.capturing, 2, "the camera was opened for the two requests made while on, only");

    shutdown.trigger();
    tokio::time::timeout(WAIT, task).await.expect("the camera stops").unwrap();
}
