//! `hearth doctor` end to end: a config file, a real broker (with and without a login), model files
//! in a temporary models directory, and the OK/FAIL report with its fixes.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hearth_bus::BusConfig;
use hearth_doctor::broker::check_broker;
use hearth_doctor::files::MODEL_FILES;
use hearth_doctor::{node_services, run, Options, ServicesFrom, Status, UpServices};

fn options(dir: &Path, config_text: &str, services: &[&str]) -> Options {
    let config = dir.join("hearth.toml");
    std::fs::write(&config, config_text).unwrap();
    Options {
        config: Some(config),
        services: Some(services.iter().map(|s| s.to_string()).collect()),
        up: None,
        model_paths: BTreeMap::new(),
        broker_timeout: Duration::from_secs(3),
        unit_dir: dir.join("units"),
        asound_dir: dir.join("asound"),
        lib_dirs: vec![dir.join("lib")],
    }
}

fn status_of(report: &hearth_doctor::Report, name: &str) -> Status {
    report.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check {name}: {report:?}")).status
}

#[tokio::test]
async fn a_bad_config_file_fails_first_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(&options(dir.path(), "[bus]\nport = \"eighteen\"\n", &["brain"])).await;
    assert!(!report.all_ok());
    let c = &report.checks[0];
    assert_eq!((c.name.as_str(), c.status), ("config", Status::Fail));
    assert!(c.fix.as_deref().unwrap().contains("hearth.toml"), "{c:?}");
    // A broker table that cannot work is caught for a node that runs the broker.
    let report = run(&options(dir.path(), "[broker]\nmqtt = \"0.0.0.0:1883\"\n", &["broker"])).await;
    let c = &report.checks[0];
    assert!(c.status == Status::Fail && c.detail.contains("broker.users"), "{c:?}");
}

#[tokio::test]
async fn a_healthy_brain_node_passes_everything() {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!("site = \"kitchen\"\ndata_dir = \"{}\"\n[bus]\nhost = \"127.0.0.1\"\nport = {}\n", dir.path().display(), broker.mqtt.port());
    let report = run(&options(dir.path(), &text, &["brain", "timers", "tools"])).await;
    let mut printed = Vec::new();
    report.print(&mut printed).unwrap();
    let printed = String::from_utf8(printed).unwrap();
    assert!(report.all_ok(), "{printed}");
    assert_eq!(status_of(&report, "broker"), Status::Ok);
    assert_eq!(status_of(&report, "onnxruntime"), Status::Skip);
    assert_eq!(status_of(&report, "audio"), Status::Skip);
    assert!(printed.contains("All checks passed."));
}

#[tokio::test]
async fn a_speech_node_without_models_fails_with_the_commands_that_fix_it() {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!("data_dir = \"{}\"\n[bus]\nhost = \"127.0.0.1\"\nport = {}\n", dir.path().display(), broker.mqtt.port());
    let opts = options(dir.path(), &text, &["wake", "listen", "asr", "tts", "audio"]);
    let report = run(&opts).await;
    assert!(!report.all_ok());
    let fixes: Vec<&str> = report.failures().filter_map(|c| c.fix.as_deref()).collect();
    let mut expected_fixes = vec!["hearth models pull whisper-tiny.en", "hearth models pull openwakeword", "hearth models pull silero-vad",
        "hearth models pull piper-en_US-lessac-medium", "apt-get install espeak-ng"];
    // With ORT_DYLIB_PATH set (the test script sets it) the library is found there, as it should be.
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        expected_fixes.push("scripts/install-onnxruntime.sh");
    }
    for expected in expected_fixes {
        assert!(fixes.iter().any(|f| f.contains(expected)), "no fix {expected:?} in {fixes:?}");
    }
    assert_eq!(status_of(&report, "audio"), Status::Fail);

    // Put everything in place: the same run passes.
    let models = dir.path().join("models");
    for m in MODEL_FILES.iter().filter(|m| m.service != "llm") {
        let bytes: &[u8] = match m.relative {
            r if r.ends_with(".bin") => &[0x6c, 0x6d, 0x67, 0x67],
            r if r.ends_with(".json") => b"{}",
            _ => &[0x08, 0x07],
        };
        std::fs::create_dir_all(models.join(m.relative).parent().unwrap()).unwrap();
        std::fs::write(models.join(m.relative), bytes).unwrap();
    }
    std::fs::write(models.join("openwakeword/hey_jarvis_v0.1.onnx"), [0x08]).unwrap();
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(lib.join("espeak-ng-data")).unwrap();
    std::fs::write(lib.join("libespeak-ng.so.1"), b"\x7fELF").unwrap();
    std::fs::write(lib.join("espeak-ng-data/phontab"), b"x").unwrap();
    let mut elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00".to_vec();
    elf.extend(match std::env::consts::ARCH { "aarch64" => 183u16, _ => 62u16 }.to_le_bytes());
    std::fs::write(lib.join("libonnxruntime.so"), &elf).unwrap();
    std::fs::create_dir_all(dir.path().join("asound")).unwrap();
    std::fs::write(dir.path().join("asound/cards"), " 0 [Device ]: USB-Audio - USB PnP Sound Device\n").unwrap();
    std::fs::write(dir.path().join("asound/pcm"), "00-00: USB Audio : USB Audio : playback 1 : capture 1\n").unwrap();
    // ORT_DYLIB_PATH would win over <data_dir>/lib; the test points the config at the library instead.
    let text = format!("{text}[tts]\nonnxruntime = \"{}\"\n", lib.join("libonnxruntime.so").display());
    let opts = options(dir.path(), &text, &["wake", "listen", "asr", "tts", "audio"]);
    let report = run(&opts).await;
    let mut printed = Vec::new();
    report.print(&mut printed).unwrap();
    assert!(report.all_ok(), "{}", String::from_utf8_lossy(&printed));
}

#[tokio::test]
async fn broker_checks_tell_login_unreachable_and_name_problems_apart() {
    // A broker reachable from the network requires a login.
    let port = hearth_broker::free_loopback_port().unwrap().port();
    let mut config = hearth_broker::BrokerConfig {
        mqtt: format!("0.0.0.0:{port}").parse().unwrap(),
        mqtt5: None,
        websocket: None,
        ..Default::default()
    };
    config.users.insert("node1".into(), "right-password".into());
    hearth_broker::start(&config).unwrap();
    let wait = Duration::from_secs(3);
    let bus = |user: &str, pass: &str| BusConfig {
        host: "127.0.0.1".into(),
        port,
        username: Some(user.into()),
        password: Some(pass.into()),
        ..BusConfig::default()
    };

    let c = check_broker(&bus("node1", "right-password"), wait).await;
    assert_eq!(c.status, Status::Ok, "{c:?}");
    let c = check_broker(&bus("node1", "wrong"), wait).await;
    assert_eq!(c.status, Status::Fail);
    assert!(c.fix.as_deref().unwrap().contains("[broker.users]"), "{c:?}");

    let closed = hearth_broker::free_loopback_port().unwrap().port();
    let c = check_broker(&BusConfig { host: "127.0.0.1".into(), port: closed, ..BusConfig::default() }, wait).await;
    assert!(c.status == Status::Fail && c.detail.contains("nothing listens"), "{c:?}");

    let c = check_broker(&BusConfig { host: "no-such-host.invalid".into(), ..BusConfig::default() }, wait).await;
    assert!(c.status == Status::Fail && c.detail.contains("cannot resolve"), "{c:?}");
    let c = check_broker(&BusConfig { host: "no-such-master.local".into(), ..BusConfig::default() }, wait).await;
    assert!(c.fix.as_deref().unwrap().contains("libnss-mdns"), "{c:?}");
}

#[test]
fn services_come_from_the_list_then_units_then_what_hearth_up_starts() {
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path();
    let up = UpServices { broker: true, services: vec!["wake".into(), "asr".into()], not_installed: vec![] };
    let (s, how) = node_services(Some(&["llm".to_string()]), units, Some(&up));
    assert_eq!((s, how), (vec!["llm".to_string()], ServicesFrom::Asked));
    let (s, how) = node_services(None, units, Some(&up));
    assert_eq!((s, how), (vec!["broker".to_string(), "wake".into(), "asr".into()], ServicesFrom::Up));
    std::fs::write(units.join("hearth-wake.service"), "").unwrap();
    std::fs::write(units.join("hearth-audio.service"), "").unwrap();
    let (s, how) = node_services(None, units, Some(&up));
    assert_eq!((s, how), (vec!["audio".to_string(), "wake".into()], ServicesFrom::Units));
    let (s, how) = node_services(None, &units.join("none"), None);
    assert_eq!((s.len(), how), (hearth_doctor::ALL_SERVICES.len(), ServicesFrom::All));
}

/// The bug this guards against: an empty config file has no service tables, and the doctor used to
/// conclude that nothing runs and pass, while `hearth up` starts every service and each one lacks its
/// model. Given what `hearth up` starts, every missing model is a failure with its pull command.
#[tokio::test]
async fn a_fresh_install_fails_for_every_model_hearth_up_needs() {
    let broker = hearth_broker::start_on_free_ports().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // As fresh as a config gets: only where the broker is and where data lives; no service tables.
    let text = format!("data_dir = \"{}\"\n[bus]\nhost = \"127.0.0.1\"\nport = {}\n", dir.path().display(), broker.mqtt.port());
    let every: Vec<String> = ["audio", "wake", "listen", "brain", "timers", "tools", "tts", "ha", "asr", "llm"].map(String::from).to_vec();
    let up = UpServices {
        broker: false,
        services: every,
        not_installed: vec![("llm".into(), "hearth-llm is not installed next to hearth".into(), "cargo build --release -p hearth-llm".into())],
    };
    let opts = Options { services: None, up: Some(up), ..options(dir.path(), &text, &[]) };
    let report = run(&opts).await;
    let mut printed = Vec::new();
    report.print(&mut printed).unwrap();
    let printed = String::from_utf8(printed).unwrap();
    assert!(!report.all_ok() && !printed.contains("All checks passed"), "{printed}");
    assert!(printed.contains("what `hearth up` starts"), "{printed}");
    for pull in ["whisper-tiny.en", "qwen3-4b-instruct", "piper-en_US-lessac-medium", "openwakeword", "openwakeword-words", "silero-vad"] {
        let fix = format!("fix: hearth models pull {pull}");
        assert!(printed.lines().any(|l| l.trim_end().ends_with(&fix) || l.contains(&format!("{fix} "))), "no `{fix}` in\n{printed}");
    }
    let program = report.checks.iter().find(|c| c.name == "program llm").expect("the missing program is reported");
    assert_eq!(program.status, Status::Fail);
    assert!(program.fix.as_deref().unwrap().contains("hearth-llm"), "{program:?}");
}
