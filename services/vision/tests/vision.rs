//! hearth-vision end to end through llama.cpp's multimodal library: the engine with the tiny scripted model
//! (fixtures/vision, made by make_vlm.py) and with a random-weight model of SmolVLM-256M's exact shape, and both
//! services (camera with a file source, vision) over a real broker: a `look` call answered sentence by sentence,
//! and every failure answered with a short spoken reason while the service keeps running.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hearth_bus::service::{status_topic, ServiceState, ServiceStatus};
use hearth_bus::tool::{ToolCall, ToolResult};
use hearth_bus::vision::{CameraActivity, CameraState, CaptureRequest, Captured, Frame, VisionSentence, LOOK};
use hearth_bus::{Bus, BusClient, BusConfig, Inbox, Message, Shutdown};
use hearth_vision::bench::test_frame;
use hearth_vision::engine::{Engine, VisionModel};
use hearth_vision::{picture, CameraConfig, VisionConfig, VisionPaths};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(120);
/// The status the test sets for the vision service before the service sets its own.
const STARTING: &str = "starting (test)";
const SENTENCES: [&str; 2] = ["I see a small test room with a lamp.", "The door is closed."];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vision")).join(name)
}

fn config(splitting: bool) -> VisionConfig {
    VisionConfig { threads: 2, image_splitting: splitting, capture_timeout_ms: 3000, ..VisionConfig::default() }
}

fn tiny() -> VisionModel {
    VisionModel::load(&fixture("tiny-lm.gguf"), &fixture("tiny-mmproj.gguf")).unwrap()
}

#[test]
fn the_tiny_model_answers_sentence_by_sentence_and_splitting_multiplies_image_tokens() {
    let model = tiny();
    assert_eq!(model.tile_tokens(), 16, "64 px tiles, 8 px patches, pixel shuffle by 2");
    let frame = test_frame(640, 480);

    let mut engine = Engine::new(&model, &config(false)).unwrap();
    engine.warm_up().unwrap();
    let mut streamed = Vec::new();
    let off = engine.describe(&frame, None, |s| streamed.push(s.to_string())).unwrap();
    assert_eq!(streamed, SENTENCES);
    assert_eq!(off.sentences, SENTENCES);
    assert_eq!(off.image_tokens, 32, "one tile and the overview: {off:?}");
    assert!(off.first_sentence_ms.is_some() && !off.truncated, "{off:?}");
    // A question changes the prompt, not the scripted answer; a second call starts from a clean context.
    let again = engine.describe(&frame, Some("Is the stove on?"), |_| {}).unwrap();
    assert_eq!(again.sentences, SENTENCES);

    let mut engine = Engine::new(&model, &config(true)).unwrap();
    let on = engine.describe(&frame, None, |_| {}).unwrap();
    assert_eq!(on.sentences, SENTENCES);
    // 640×480 → 256×192 at the 256 px longest edge → 4×3 tiles and the overview.
    assert_eq!(on.image_tokens, 13 * 16, "{on:?}");
}

#[test]
fn the_token_limit_drops_a_half_sentence() {
    let model = tiny();
    let mut engine = Engine::new(&model, &VisionConfig { max_tokens: 5, ..config(false) }).unwrap();
    let stats = engine.describe(&test_frame(64, 64), None, |_| {}).unwrap();
    assert!(stats.truncated);
    assert_eq!(stats.sentences, [SENTENCES[0]], "\"The door\" is not said");
}

#[test]
fn missing_models_name_the_fix() {
    let err = VisionModel::load(Path::new("/nonexistent/smolvlm.gguf"), &fixture("tiny-mmproj.gguf")).err().unwrap();
    assert!(err.to_string().contains("hearth models pull smolvlm-256m"), "{err}");
    let err = VisionModel::load(&fixture("tiny-lm.gguf"), &fixture("tiny-lm.gguf")).err().unwrap();
    assert!(err.to_string().contains("projector") || err.to_string().contains("clip.vision"), "{err}");
}

fn python_with_gguf() -> Option<String> {
    let python = std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&python).args(["-c", "import gguf, numpy"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI needs `pip install gguf numpy`");
        eprintln!("skipping: python module gguf or numpy missing (pip install gguf numpy)");
        return None;
    }
    Some(python)
}

#[test]
fn fixtures_match_their_generator() {
    let Some(python) = python_with_gguf() else { return };
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(&python).arg(fixture("make_vlm.py")).arg("fixtures").arg(dir.path()).status().unwrap();
    assert!(status.success());
    for name in ["tiny-lm.gguf", "tiny-mmproj.gguf"] {
        let fresh = std::fs::read(dir.path().join(name)).unwrap();
        let committed = std::fs::read(fixture(name)).unwrap();
        assert!(fresh == committed, "{name} differs from what make_vlm.py writes: regenerate the fixtures");
    }
}

/// The random-weight pair of SmolVLM-256M's exact shape, generated once into the bench's cache.
#[test]
fn a_smolvlm_256m_shaped_model_loads_and_encodes_a_frame() {
    let Some(python) = python_with_gguf() else { return };
    let mut options = hearth_vision::bench::BenchOptions::new();
    options.python = python;
    let model_path = options.cache_dir.join(hearth_vision::bench::BENCH_MODEL_FILE);
    let mmproj_path = options.cache_dir.join(hearth_vision::bench::BENCH_MMPROJ_FILE);
    if !model_path.is_file() || !mmproj_path.is_file() {
        let status = std::process::Command::new(&options.python).arg(&options.script).arg("bench").arg(&options.cache_dir).status().unwrap();
        assert!(status.success());
    }
    let model = VisionModel::load(&model_path, &mmproj_path).unwrap();
    assert_eq!(model.tile_tokens(), 64, "512 px tiles, 16 px patches, pixel shuffle by 4");
    let mut engine = Engine::new(&model, &VisionConfig { max_tokens: 2, ..config(false) }).unwrap();
    let stats = engine.describe(&test_frame(640, 480), None, |_| {}).unwrap();
    assert_eq!(stats.image_tokens, 128, "one tile and the overview: {stats:?}");
    assert!(stats.generated_tokens <= 2);
}

// ---- both services over a real broker ----

struct Harness {
    _broker: hearth_broker::BrokerHandle,
    shutdown: Shutdown,
    bus_config: BusConfig,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _conns: Vec<hearth_bus::Connection>,
}

impl Harness {
    async fn stop(self) {
        self.shutdown.trigger();
        for task in self.tasks {
            tokio::time::timeout(WAIT, task).await.expect("service stops").unwrap();
        }
    }
}

/// Starts a broker, a test client standing in for the brain, the vision service (with `paths`) and, with
/// `camera`, the camera service at site `kitchen`; returns once the vision service is online (or unavailable).
async fn start(paths: VisionPaths, camera: Option<CameraConfig>) -> (Harness, BusClient, Inbox, ServiceStatus) {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let bus_config = BusConfig { host: "127.0.0.1".into(), port: broker.mqtt.port(), ..BusConfig::default() };
    let (test, test_conn) = Bus::connect(&bus_config, "test-brain", "kitchen").unwrap();
    test.client.wait_connected(WAIT).await.unwrap();
    for filter in [
        hearth_bus::topic::topic_of::<ToolResult>("kitchen"),
        hearth_bus::topic::topic_of::<VisionSentence>("kitchen"),
        hearth_bus::topic::topic_of::<CameraState>("kitchen"),
        hearth_bus::topic::topic_of::<Captured>("kitchen"),
        status_topic("default", "vision"),
    ] {
        test.client.subscribe(filter).await.unwrap();
    }
    let Bus { client, mut inbox } = test;
    let shutdown = Shutdown::new();
    let mut conns = vec![test_conn];
    let mut tasks = Vec::new();

    if let Some(camera) = camera {
        let (bus, conn) = Bus::connect(&bus_config, "camera", "kitchen").unwrap();
        bus.client.wait_connected(WAIT).await.unwrap();
        conns.push(conn);
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move { hearth_vision::run_camera(camera, bus, stop).await.unwrap() }));
        let idle = next::<CameraState>(&mut inbox).await;
        assert_eq!(idle.state, CameraActivity::Idle);
    }
    let (bus, conn) = Bus::connect(&bus_config, "vision", "default").unwrap();
    // Until the service sets its own, a client's status on connecting is online: a placeholder keeps that
    // from passing for the vision service's answer.
    bus.client.set_status(ServiceState::Unavailable, Some(STARTING.into())).await.unwrap();
    bus.client.wait_connected(WAIT).await.unwrap();
    conns.push(conn);
    let stop = shutdown.clone();
    tasks.push(tokio::spawn(async move { hearth_vision::run(config(false), paths, bus, stop).await.unwrap() }));
    let status = wait_status(&mut inbox, &[ServiceState::Online, ServiceState::Unavailable], |s| {
        let detail = s.detail.as_deref().unwrap_or("");
        !detail.starts_with("loading") && detail != STARTING
    })
    .await;
    (Harness { _broker: broker, shutdown, bus_config, tasks, _conns: conns }, client, inbox, status)
}

async fn wait_status(inbox: &mut Inbox, want: &[ServiceState], also: impl Fn(&ServiceStatus) -> bool) -> ServiceStatus {
    let topic = status_topic("default", "vision");
    let e = inbox
        .next_matching(WAIT, |e| e.topic == topic && ServiceStatus::from_payload(&e.payload).is_ok_and(|s| want.contains(&s.state) && also(&s)))
        .await;
    ServiceStatus::from_payload(&e.expect("timed out waiting for the vision status").payload).unwrap()
}

async fn next<M: Message>(inbox: &mut Inbox) -> M {
    let e = inbox.next_matching(WAIT, |e| e.is::<M>()).await.unwrap_or_else(|| panic!("timed out waiting for {}", M::SUFFIX));
    e.decode::<M>().unwrap()
}

fn look(call_id: &str, arguments: serde_json::Value) -> ToolCall {
    ToolCall { call_id: call_id.into(), session_id: Some("s1".into()), tool: LOOK.into(), arguments }
}

/// Everything a `look` call produced, in arrival order.
struct Answer {
    sentences: Vec<VisionSentence>,
    result: ToolResult,
    camera_states: Vec<CameraActivity>,
    captured: Option<Captured>,
}

/// Collects the sentences streamed for `call_id`, the camera's events, and the result.
async fn answer(inbox: &mut Inbox, call_id: &str) -> Answer {
    tokio::time::timeout(WAIT, async {
        let (mut sentences, mut camera_states, mut captured) = (Vec::new(), Vec::new(), None);
        loop {
            let e = inbox.recv().await.expect("inbox closed");
            if let Some(s) = e.decode::<VisionSentence>() {
                if s.call_id == call_id {
                    sentences.push(s);
                }
            } else if let Some(state) = e.decode::<CameraState>() {
                camera_states.push(state.state);
            } else if let Some(c) = e.decode::<Captured>() {
                captured = Some(c);
            } else if let Some(result) = e.decode::<ToolResult>() {
                if result.call_id == call_id {
                    return Answer { sentences, result, camera_states, captured };
                }
            }
        }
    })
    .await
    .expect("timed out waiting for the look answer")
}

fn tiny_paths() -> VisionPaths {
    VisionPaths { model: fixture("tiny-lm.gguf"), mmproj: fixture("tiny-mmproj.gguf") }
}

fn file_camera(path: &Path) -> CameraConfig {
    CameraConfig { file: Some(path.to_path_buf()), ..CameraConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_do_you_see_over_the_bus_and_failures_keep_the_service_running() {
    let dir = tempfile::tempdir().unwrap();
    let picture_file = dir.path().join("room.jpg");
    std::fs::write(&picture_file, picture::to_jpeg(&test_frame(640, 480), 85).unwrap()).unwrap();
    let (h, client, mut inbox, status) = start(tiny_paths(), Some(file_camera(&picture_file))).await;
    assert_eq!(status.state, ServiceState::Online, "{status:?}");
    let call = |id: &str, arguments| look(id, arguments);
    let topic = hearth_bus::tool::call_topic("kitchen", LOOK);

    client.publish_on(topic.clone(), &call("c1", json!({}))).await.unwrap();
    let a = answer(&mut inbox, "c1").await;
    let texts: Vec<&str> = a.sentences.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts, SENTENCES);
    assert_eq!(a.sentences.iter().map(|s| s.seq).collect::<Vec<_>>(), [0, 1]);
    assert!(a.sentences.iter().all(|s| s.session_id.as_deref() == Some("s1")));
    assert!(a.result.ok, "{:?}", a.result);
    assert_eq!(a.result.sentence, SENTENCES.join(" "));
    let data = a.result.data.clone().unwrap();
    assert_eq!(data["image_tokens"], 32);
    assert_eq!(data["source"], "file:room.jpg");
    assert_eq!((data["width"].as_u64(), data["height"].as_u64()), (Some(640), Some(480)));
    // The camera was opened for this frame only: capturing, then idle again, and the capture was reported.
    assert_eq!(a.camera_states, [CameraActivity::Capturing, CameraActivity::Idle]);
    let captured = match a.captured {
        Some(c) => c,
        None => next::<Captured>(&mut inbox).await,
    };
    assert!(captured.ok && captured.jpeg_bytes > 0, "{captured:?}");

    // Garbage from the camera: a short spoken reason, and the service keeps going.
    std::fs::write(&picture_file, b"<html>camera login</html>").unwrap();
    client.publish_on(topic.clone(), &call("c2", json!({"question": "is the door open?"}))).await.unwrap();
    let a = answer(&mut inbox, "c2").await;
    assert!(a.sentences.is_empty() && !a.result.ok);
    assert_eq!(a.result.sentence, "I can't see anything right now: the camera's picture could not be read.");

    std::fs::remove_file(&picture_file).unwrap();
    client.publish_on(topic.clone(), &call("c3", json!({}))).await.unwrap();
    let a = answer(&mut inbox, "c3").await;
    assert_eq!(a.result.sentence, "I can't see anything right now: the camera is not available.");

    std::fs::write(&picture_file, picture::to_jpeg(&test_frame(320, 240), 85).unwrap()).unwrap();
    client.publish_on(topic, &call("c4", json!({}))).await.unwrap();
    let a = answer(&mut inbox, "c4").await;
    assert!(a.result.ok && a.sentences.len() == 2, "{:?}", a.result);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_camera_or_a_truncated_frame_is_answered_in_time() {
    let (h, client, mut inbox, _) = start(tiny_paths(), None).await;
    // Nobody answers at this site: the capture timeout (3 s here) ends the wait.
    let started = std::time::Instant::now();
    client.publish_on(hearth_bus::tool::call_topic("kitchen", LOOK), &look("n1", json!({}))).await.unwrap();
    let result = answer(&mut inbox, "n1").await.result;
    assert_eq!(result.sentence, "I can't see anything right now: the camera is not available.");
    assert!(started.elapsed() >= Duration::from_millis(2900));

    // A camera that sends half a JPEG: the vision service refuses it without crashing.
    let (fake, fake_conn) = Bus::connect(&h.bus_config, "fake-camera", "kitchen").unwrap();
    fake.client.wait_connected(WAIT).await.unwrap();
    fake.client.subscribe_site::<CaptureRequest>("kitchen").await.unwrap();
    let Bus { client: fake_client, inbox: mut fake_inbox } = fake;
    client.publish_on(hearth_bus::tool::call_topic("kitchen", LOOK), &look("n2", json!({}))).await.unwrap();
    let request = next::<CaptureRequest>(&mut fake_inbox).await;
    let jpeg = picture::to_jpeg(&test_frame(320, 240), 85).unwrap();
    let frame = Frame {
        request_id: request.request_id,
        jpeg: jpeg[..jpeg.len() / 3].to_vec(),
        width: 320,
        height: 240,
        source: "fake".into(),
        capture_ms: 1,
        error: None,
    };
    fake_client.publish("kitchen", &frame).await.unwrap();
    let result = answer(&mut inbox, "n2").await.result;
    assert_eq!(result.sentence, "I can't see anything right now: the camera's picture could not be read.");
    drop(fake_conn);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_model_says_so_and_answers_every_look() {
    let paths = VisionPaths { model: PathBuf::from("/nonexistent/vision/SmolVLM-256M-Instruct-Q8_0.gguf"), mmproj: fixture("tiny-mmproj.gguf") };
    let (h, client, mut inbox, status) = start(paths, None).await;
    assert_eq!(status.state, ServiceState::Unavailable);
    assert!(status.detail.as_deref().unwrap_or("").contains("hearth models pull smolvlm-256m"), "{status:?}");
    client.publish_on(hearth_bus::tool::call_topic("kitchen", LOOK), &look("m1", json!({}))).await.unwrap();
    let result = answer(&mut inbox, "m1").await.result;
    assert!(!result.ok);
    assert_eq!(result.sentence, "I can't see anything right now: the vision model is not installed.");
    h.stop().await;
}
