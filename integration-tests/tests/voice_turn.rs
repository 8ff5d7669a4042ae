//! The demo from files: `hearth up --mic FILE.wav --speaker OUT.wav`, every service in its own process:
//! real openWakeWord front end and "hey jarvis" model, real Silero VAD, whisper.cpp with a generated
//! model that hears "what time is it", the brain's local intent (the fast path, no LLM), and espeak-ng
//! speaking the answer into the WAV speaker.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use hearth_bus::asr::Transcript;
use hearth_bus::audio::Played;
use hearth_bus::brain::Reply;
use hearth_bus::listen::{EndReason, ListeningEnded};
use hearth_bus::tts::Spoken;
use hearth_bus::wake::WakeDetected;
use hearth_bus::BusConfig;
use hearth_integration_tests::speech::{read_wav, silence, speak, write_wav};
use hearth_integration_tests::*;

struct Assistant(Child);

impl Drop for Assistant {
    fn drop(&mut self) {
        // SIGTERM lets `hearth up` stop its children; the kill is the fallback.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        std::thread::sleep(std::time::Duration::from_millis(500));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn link(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(from, to).unwrap();
}

#[tokio::test]
async fn wav_in_spoken_answer_out() {
    let Some(melspectrogram) = shared_file("models/openwakeword/melspectrogram.onnx") else { return };
    let shared = melspectrogram.parent().and_then(|d| d.parent()).expect("models folder").to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    for f in ["melspectrogram.onnx", "embedding_model.onnx", "hey_jarvis_v0.1.onnx"] {
        link(&shared.join("openwakeword").join(f), &models.join("openwakeword").join(f));
    }
    link(&shared.join("silero-vad/silero_vad.onnx"), &models.join("silero-vad/silero_vad.onnx"));
    let whisper = dir.path().join("whisper-phrase.bin");
    hearth_e2e::phrase_whisper("what time is it", "fixture", &whisper).unwrap();
    link(&whisper, &models.join("whisper/ggml-tiny.en.bin"));

    // The microphone: a pause, the wake word, a request, then silence (the audio service keeps
    // sending silence after the file ends, so the endpointer can close).
    let mut mic = silence(1.0);
    mic.extend(speak("hey jarvis", "en-us", dir.path()));
    mic.extend(silence(0.4));
    mic.extend(speak("what time is it", "en-us", dir.path()));
    mic.extend(silence(2.0));
    let mic_path = write_wav(&dir.path().join("mic.wav"), &mic);
    let speaker = dir.path().join("speaker.wav");

    let ports: Vec<u16> = (0..3).map(|_| hearth_broker::free_loopback_port().unwrap().port()).collect();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{data}\"\nmodels_dir = \"{models}\"\n\
             [bus]\nport = {p0}\n\
             [broker]\nmqtt = \"127.0.0.1:{p0}\"\nmqtt5 = \"127.0.0.1:{p1}\"\nwebsocket = \"127.0.0.1:{p2}\"\n\
             [brain]\nfollow_up_ms = 0\n\
             [up]\nservices = [\"audio\", \"wake\", \"listen\", \"asr\", \"brain\", \"timers\", \"tools\", \"tts\"]\n",
            data = dir.path().join("data").display(),
            models = models.display(),
            p0 = ports[0],
            p1 = ports[1],
            p2 = ports[2],
        ),
    )
    .unwrap();
    let bus = BusConfig { host: "127.0.0.1".into(), port: ports[0], ..BusConfig::default() };

    // Subscribe before the audio starts: start the broker's clients first by waiting for the port.
    let _assistant = Assistant(
        Command::new(workspace_binary("hearth"))
            .arg("--config")
            .arg(&config)
            .arg("up")
            .arg("--mic")
            .arg(&mic_path)
            .arg("--speaker")
            .arg(&speaker)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("hearth up starts"),
    );
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], ports[0]));
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(100)).is_err() {
        assert!(started.elapsed() < WAIT, "broker did not come up");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut probe = Probe::new(&bus, &["hearth/#"]).await;

    let wake = probe.next::<WakeDetected>(|_| true).await;
    assert_eq!(wake.word, "hey_jarvis");
    let session = wake.session_id.clone();
    let ended = probe.next::<ListeningEnded>(|e| e.session_id == session).await;
    assert_eq!(ended.reason, EndReason::Silence, "{ended:?}");
    assert!(ended.speech_ms > 300, "{ended:?}");
    let transcript = probe.next::<Transcript>(|t| t.session_id == session).await;
    assert_eq!(transcript.text, "what time is it");
    let reply = probe.next::<Reply>(|r| r.session_id == session).await;
    assert_eq!(reply.source, hearth_bus::brain::ReplySource::Intent, "{reply:?}");
    assert!(reply.text.starts_with("It's "), "{reply:?}");
    let spoken = probe.next::<Spoken>(|s| s.session_id.as_deref() == Some(&session)).await;
    assert!(spoken.error.is_none(), "{spoken:?}");
    assert!(spoken.voice.starts_with("espeak-ng"), "{spoken:?}");
    let utterance = spoken.utterance_id.clone();
    let played = probe.next::<Played>(|p| p.utterance_id == utterance).await;
    assert!(!played.interrupted, "{played:?}");
    assert!(played.duration_ms > 1000, "{played:?}");

    // The speaker file holds the answer: over a second of real sound.
    let out = read_wav(&speaker);
    let loud = out.iter().filter(|s| s.unsigned_abs() > 1000).count();
    assert!(loud > 2000, "speaker holds {} samples, {loud} loud", out.len());
}
