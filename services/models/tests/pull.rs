//! Pulls against the local file server: good downloads, resumes after a dropped connection (in the same
//! run and in the next), and every check that must keep a bad file out of the models directory.

use std::path::Path;
use std::time::Duration;

use hearth_models::store::RECORD_FILE;
use hearth_models::{list_with, pull_with, render, FileState, Model, ModelsError, Progress, PullOptions, PullReport};

use crate::util::{blob, file, model, sha256, Behaviour, FileServer};

fn quick(attempts: u32) -> PullOptions {
    PullOptions {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        attempts,
        retry_delay: Duration::from_millis(20),
    }
}

/// Pulls every model of `catalog`, collecting the progress events as text.
async fn pull_all(catalog: &[Model], dir: &Path, options: &PullOptions) -> (PullReport, Vec<String>) {
    let mut events = Vec::new();
    let report = pull_with(catalog, dir, &[], options, &mut |p: &Progress| events.push(format!("{p:?}"))).await.unwrap();
    (report, events)
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        let name = entry.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        if name != RECORD_FILE {
            found.push(name);
        }
    }
    found.sort();
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[tokio::test]
async fn good_download_verified_and_trusted_on_first_use() {
    let server = FileServer::start().await;
    let weights = blob(300_000, 1);
    let config = b"{\"sample_rate\": 22050}".to_vec();
    server.put("/voice.onnx", weights.clone());
    server.put("/voice.onnx.json", config.clone());
    let catalog = vec![model(
        "voice",
        vec![
            file(&server, "/voice.onnx", "piper/voice.onnx", Some(weights.len() as u64), Some(sha256(&weights))),
            file(&server, "/voice.onnx.json", "piper/voice.onnx.json", None, None),
        ],
    )];
    let dir = tempfile::tempdir().unwrap();
    let (report, events) = pull_all(&catalog, dir.path(), &quick(1)).await;
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(std::fs::read(dir.path().join("piper/voice.onnx")).unwrap(), weights);
    assert_eq!(std::fs::read(dir.path().join("piper/voice.onnx.json")).unwrap(), config);
    assert_eq!(leftovers(dir.path()), ["piper/voice.onnx", "piper/voice.onnx.json"]);
    assert!(report.pulled.iter().all(|p| p.downloaded));
    assert!(report.pulled[1].trusted_on_first_use && !report.pulled[0].trusted_on_first_use);
    assert!(events.iter().any(|e| e.starts_with("Bytes")) && events.iter().filter(|e| e.starts_with("Done")).count() == 2);

    let listing = list_with(&catalog, dir.path());
    assert!(listing[0].installed());
    assert!(matches!(listing[0].files[0].state, FileState::Verified { trusted_on_first_use: false, .. }));
    match &listing[0].files[1].state {
        FileState::Verified { trusted_on_first_use: true, sha256: h, .. } => assert_eq!(*h, sha256(&config)),
        other => panic!("{other:?}"),
    }
    let text = render(&listing, dir.path());
    assert!(text.contains("sha256 verified") && text.contains("trust on first use"), "{text}");

    // A second pull finds both in place and asks the server nothing.
    let before = server.seen().len();
    let (report, events) = pull_all(&catalog, dir.path(), &quick(1)).await;
    assert!(report.is_complete() && report.pulled.iter().all(|p| !p.downloaded));
    assert_eq!(server.seen().len(), before);
    assert!(events.iter().all(|e| e.starts_with("Installed")), "{events:?}");
}

#[tokio::test]
async fn dropped_connection_is_resumed_with_a_range_request() {
    let server = FileServer::start().await;
    let weights = blob(500_000, 2);
    server.put("/model.bin", weights.clone());
    server.set(Behaviour { drops_left: 1, drop_after: 123_456, ..Default::default() });
    let catalog = vec![model("m", vec![file(&server, "/model.bin", "m/model.bin", Some(500_000), Some(sha256(&weights)))])];
    let dir = tempfile::tempdir().unwrap();
    let (report, events) = pull_all(&catalog, dir.path(), &quick(3)).await;
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(std::fs::read(dir.path().join("m/model.bin")).unwrap(), weights);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[1].range.as_deref(), Some("bytes=123456-"));
    assert!(seen.iter().all(|s| s.path == "/model.bin"));
    assert!(events.iter().any(|e| e.starts_with("Retrying")), "{events:?}");
    assert!(events.iter().any(|e| e.contains("resumed_from: 123456")), "{events:?}");
    assert_eq!(leftovers(dir.path()), ["m/model.bin"]);
}

#[tokio::test]
async fn interrupted_pull_leaves_a_part_that_the_next_pull_resumes() {
    let server = FileServer::start().await;
    let weights = blob(400_000, 3);
    server.put("/model.bin", weights.clone());
    server.set(Behaviour { drops_left: 1, drop_after: 100_000, ..Default::default() });
    // Size unknown: the announced Content-Length is what tells a short body from a whole one.
    let catalog = vec![model("m", vec![file(&server, "/model.bin", "m/model.bin", None, Some(sha256(&weights)))])];
    let dir = tempfile::tempdir().unwrap();

    let (report, _) = pull_all(&catalog, dir.path(), &quick(1)).await;
    assert_eq!(report.failed.len(), 1);
    let message = report.failed[0].1.to_string();
    assert!(matches!(report.failed[0].1, ModelsError::Interrupted { .. }), "{message}");
    assert!(message.contains("model.bin.part") && message.contains("resumes"), "{message}");
    assert!(!dir.path().join("m/model.bin").exists(), "nothing at the destination");
    assert_eq!(std::fs::metadata(dir.path().join("m/model.bin.part")).unwrap().len(), 100_000);
    let listing = list_with(&catalog, dir.path());
    assert_eq!(listing[0].files[0].state, FileState::Missing { partial: Some(100_000) });
    assert!(render(&listing, dir.path()).contains("pull resumes"));

    let (report, _) = pull_all(&catalog, dir.path(), &quick(1)).await;
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(server.seen().last().unwrap().range.as_deref(), Some("bytes=100000-"));
    assert_eq!(std::fs::read(dir.path().join("m/model.bin")).unwrap(), weights);
    assert_eq!(leftovers(dir.path()), ["m/model.bin"]);
}

#[tokio::test]
async fn wrong_checksum_is_rejected_and_nothing_is_left_behind() {
    let server = FileServer::start().await;
    let weights = blob(200_000, 4);
    server.put("/model.bin", weights.clone());
    let wrong = sha256(b"something else");
    let catalog = vec![model("m", vec![file(&server, "/model.bin", "m/model.bin", Some(200_000), Some(wrong.clone()))])];
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = pull_all(&catalog, dir.path(), &quick(3)).await;
    assert_eq!(report.failed.len(), 1);
    match &report.failed[0].1 {
        ModelsError::ChecksumMismatch { expected, actual, .. } => {
            assert_eq!(*expected, wrong);
            assert_eq!(*actual, sha256(&weights));
        }
        other => panic!("{other}"),
    }
    assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));
    assert_eq!(server.seen().len(), 1, "a fresh download that fails its check is not retried");
    assert!(!list_with(&catalog, dir.path())[0].installed());
}

#[tokio::test]
async fn stale_part_failing_its_check_is_discarded_and_fetched_fresh() {
    let server = FileServer::start().await;
    let weights = blob(200_000, 5);
    server.put("/model.bin", weights.clone());
    let catalog = vec![model("m", vec![file(&server, "/model.bin", "m/model.bin", Some(200_000), Some(sha256(&weights)))])];
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("m")).unwrap();
    // Left by an earlier run against a file that has since changed upstream.
    std::fs::write(dir.path().join("m/model.bin.part"), blob(50_000, 99)).unwrap();
    let (report, _) = pull_all(&catalog, dir.path(), &quick(3)).await;
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(std::fs::read(dir.path().join("m/model.bin")).unwrap(), weights);
    let ranges: Vec<_> = server.seen().into_iter().map(|s| s.range).collect();
    assert_eq!(ranges, [Some("bytes=50000-".to_string()), None]);
}

#[tokio::test]
async fn server_without_range_support_restarts_from_zero() {
    let server = FileServer::start().await;
    let weights = blob(300_000, 6);
    server.put("/model.bin", weights.clone());
    server.set(Behaviour { drops_left: 1, drop_after: 70_000, ignore_range: true, ..Default::default() });
    let catalog = vec![model("m", vec![file(&server, "/model.bin", "m/model.bin", Some(300_000), Some(sha256(&weights)))])];
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = pull_all(&catalog, dir.path(), &quick(3)).await;
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(std::fs::read(dir.path().join("m/model.bin")).unwrap(), weights);
}

#[tokio::test]
async fn damaged_installed_file_is_replaced() {
    let server = FileServer::start().await;
    let weights = blob(100_000, 7);
    server.put("/model.bin", weights.clone());
    let catalog = vec![model("m", vec![file(&server, "/model.bin", "m/model.bin", Some(100_000), Some(sha256(&weights)))])];
    let dir = tempfile::tempdir().unwrap();
    assert!(pull_all(&catalog, dir.path(), &quick(1)).await.0.is_complete());
    let dest = dir.path().join("m/model.bin");
    let mut damaged = weights.clone();
    damaged[5000] ^= 0xff;
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&dest, &damaged).unwrap();
    assert_eq!(list_with(&catalog, dir.path())[0].files[0].state, FileState::Unchecked { size: 100_000 });

    let (report, _) = pull_all(&catalog, dir.path(), &quick(1)).await;
    assert!(report.is_complete() && report.pulled[0].downloaded);
    assert_eq!(std::fs::read(&dest).unwrap(), weights);
}

#[tokio::test]
async fn recorded_digest_guards_later_downloads() {
    let server = FileServer::start().await;
    server.put("/words.onnx", blob(10_000, 8));
    let catalog = vec![model("w", vec![file(&server, "/words.onnx", "w/words.onnx", None, None)])];
    let dir = tempfile::tempdir().unwrap();
    assert!(pull_all(&catalog, dir.path(), &quick(1)).await.0.is_complete());

    // The file goes missing and the server now has different bytes: the recorded digest rejects them.
    std::fs::remove_file(dir.path().join("w/words.onnx")).unwrap();
    server.put("/words.onnx", blob(10_000, 9));
    let (report, _) = pull_all(&catalog, dir.path(), &quick(1)).await;
    assert!(matches!(report.failed[0].1, ModelsError::ChecksumMismatch { .. }), "{:?}", report.failed);
    assert!(leftovers(dir.path()).is_empty());
}

#[tokio::test]
async fn http_errors_and_web_pages_are_clear_failures() {
    let server = FileServer::start().await;
    let catalog = vec![model("m", vec![file(&server, "/missing.bin", "m/missing.bin", None, None)])];
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = pull_all(&catalog, dir.path(), &quick(2)).await;
    assert!(matches!(report.failed[0].1, ModelsError::Http { status: 404, .. }), "{:?}", report.failed);
    assert!(report.failed[0].1.to_string().contains("/missing.bin answered HTTP 404"));

    server.set(Behaviour { fixed: Some((200, "text/html; charset=utf-8", "<html>Sign in</html>")), ..Default::default() });
    let (report, _) = pull_all(&catalog, dir.path(), &quick(2)).await;
    assert!(matches!(report.failed[0].1, ModelsError::NotAFile { .. }), "{:?}", report.failed);

    server.set(Behaviour { fixed: Some((503, "text/plain", "busy")), ..Default::default() });
    let (report, _) = pull_all(&catalog, dir.path(), &quick(2)).await;
    // Nothing arrived, so nothing is kept to resume.
    assert!(matches!(report.failed[0].1, ModelsError::NothingArrived { attempts: 2, .. }), "{:?}", report.failed);
    assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));
}

#[tokio::test]
async fn one_failing_model_does_not_stop_the_others() {
    let server = FileServer::start().await;
    let good = blob(20_000, 10);
    server.put("/good.bin", good.clone());
    let catalog = vec![
        model("bad", vec![file(&server, "/nope.bin", "bad/nope.bin", None, None)]),
        model("good", vec![file(&server, "/good.bin", "good/good.bin", Some(20_000), Some(sha256(&good)))]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = pull_all(&catalog, dir.path(), &quick(1)).await;
    assert_eq!(report.failed.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(), ["bad"]);
    assert_eq!(report.pulled.len(), 1);
    assert_eq!(std::fs::read(dir.path().join("good/good.bin")).unwrap(), good);
}

#[tokio::test]
async fn no_network_is_one_plain_line_per_model_and_leaves_nothing() {
    // A port nothing listens on stands for a host that cannot be reached.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let at = |path: &str, dest: &str| hearth_models::ModelFile { url: format!("http://{closed}{path}"), path: dest.into(), size: Some(10), sha256: None };
    let catalog = vec![
        model("voice", vec![at("/voice.onnx", "piper/voice.onnx"), at("/voice.onnx.json", "piper/voice.onnx.json")]),
        model("whisper", vec![at("/ggml.bin", "whisper/ggml.bin")]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let (report, events) = pull_all(&catalog, dir.path(), &quick(4)).await;
    assert_eq!(report.failed.len(), 2, "one failure per model: {:?}", report.failed);
    for (name, error) in &report.failed {
        let line = error.to_string();
        assert!(matches!(error, ModelsError::Unreachable { .. }), "{name}: {line}");
        assert!(line.starts_with("cannot reach 127.0.0.1: no network?") && line.contains("connection refused"), "{line}");
        assert!(!line.contains('\n') && line.len() < 80, "{line}");
    }
    // Not retried: a retry would only print the same error again.
    assert!(events.iter().all(|e| !e.starts_with("Retrying")), "{events:?}");
    assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));
}

#[tokio::test]
async fn a_connection_dropped_before_any_byte_leaves_no_empty_part() {
    let server = FileServer::start().await;
    server.put("/model.bin", blob(50_000, 9));
    server.set(Behaviour { drops_left: 10, drop_after: 0, ..Default::default() });
    let catalog = vec![model("m", vec![file(&server, "/model.bin", "m/model.bin", Some(50_000), None)])];
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = pull_all(&catalog, dir.path(), &quick(2)).await;
    assert_eq!(report.failed.len(), 1);
    assert!(matches!(report.failed[0].1, ModelsError::NothingArrived { attempts: 2, .. }), "{}", report.failed[0].1);
    assert!(!dir.path().join("m/model.bin.part").exists(), "an empty .part resumes nothing and must not stay");
    assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));
}
