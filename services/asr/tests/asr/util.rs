//! Shared helpers: fixture paths, ../shared lookup, test audio, waits with timeouts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hearth_bus::{Envelope, Inbox};

pub const WAIT: Duration = Duration::from_secs(60);

/// The committed "hello world" model (fixtures/whisper/make_phrase.py).
pub fn hello_world_model() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/whisper/ggml-hello-world.bin"))
}

/// `$HEARTH_SHARED`, else `<workspace>/../shared`; `None` (after saying so) when absent, except
/// under `CI=true`, where it is a failure.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("../shared not found at {} (set HEARTH_SHARED)", dir.display());
    }
    eprintln!("skipping: ../shared not found (set HEARTH_SHARED)");
    None
}

/// `seconds` of a speech-like signal at `rate_hz` with `channels` identical channels, as s16 LE bytes.
pub fn pcm(seconds: f32, rate_hz: u32, channels: u16) -> Vec<u8> {
    let n = (seconds * rate_hz as f32) as usize;
    (0..n)
        .flat_map(|i| {
            let t = i as f32 / rate_hz as f32;
            let v = (0.2 * (2.0 * std::f32::consts::PI * 220.0 * t).sin() * 32767.0) as i16;
            std::iter::repeat_n(v, channels as usize)
        })
        .flat_map(|s| s.to_le_bytes())
        .collect()
}

pub async fn next_matching(inbox: &mut Inbox, pred: impl Fn(&Envelope) -> bool) -> Envelope {
    inbox.next_matching(WAIT, pred).await.expect("timed out waiting for a message")
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (saying why) or, under `CI=true`, fails.
fn skip<T>(why: String) -> Option<T> {
    if ci() {
        panic!("{why}");
    }
    eprintln!("skipping: {why}");
    None
}

/// The real models' folder from `scripts/fetch-real-models.sh`, when it holds what these tests need.
pub fn real_models() -> Option<PathBuf> {
    let dir = hearth_asr::reference::default_real_models_dir();
    let needed = ["whisper/ggml-tiny.en.bin", "whisper/ggml-base.bin", "piper/en_US-joe-medium.onnx"];
    if let Some(missing) = needed.iter().find(|p| !dir.join(p).is_file()) {
        let why = std::fs::read_to_string(dir.join("fetch-error.txt")).unwrap_or_default();
        let why = if why.trim().is_empty() { "it was not run or did not finish".to_owned() } else { why.trim().to_owned() };
        return skip(format!(
            "real models not available ({} missing; scripts/fetch-real-models.sh: {why})",
            dir.join(missing).display()
        ));
    }
    Some(dir)
}

/// The assistant requests spoken by Piper joe: manifests of the clean clips and of the same clips
/// with brown noise 10 dB under the speech.
pub struct SpokenSet {
    pub clean: PathBuf,
    pub noisy: PathBuf,
}

const REQUESTS: &str = include_str!("requests.txt");
const SPEAK_SCRIPT: &str = include_str!("piper_speak.py");
const NOISE_SNR_DB: f64 = 10.0;

/// Speaks `requests.txt` with the real voice (Python piper-tts from `$HEARTH_PYTHON`) once, into
/// `<real>/clips/joe-requests-<hash>/`, and writes the manifests beside the clips.
pub fn spoken_requests(real: &Path) -> Option<SpokenSet> {
    let lines: Vec<&str> = REQUESTS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let key = fnv(&[REQUESTS, SPEAK_SCRIPT, "noise v1"].concat());
    let dir = real.join("clips").join(format!("joe-requests-{key:016x}"));
    let set = SpokenSet { clean: dir.join("clean.tsv"), noisy: dir.join("noisy.tsv") };
    if set.clean.is_file() && set.noisy.is_file() {
        return Some(set);
    }
    let spoken = (0..lines.len()).all(|i| dir.join("clean").join(format!("{i:03}.wav")).is_file());
    if !spoken && speak(real, &dir, &lines).is_none() {
        return None;
    }
    std::fs::create_dir_all(dir.join("noisy")).unwrap();
    let (mut clean, mut noisy) = (String::new(), String::new());
    for (i, text) in lines.iter().enumerate() {
        let name = format!("{i:03}.wav");
        let speech = dir.join("clean").join(&name);
        let (spec, samples) = read_i16(&speech);
        let noise = brown_noise(samples.len(), 0x5eed + i as u64);
        let mixed = under(&samples, &noise, NOISE_SNR_DB);
        let mut w = hound::WavWriter::create(dir.join("noisy").join(&name), spec).unwrap();
        mixed.iter().for_each(|&s| w.write_sample(s).unwrap());
        w.finalize().unwrap();
        clean.push_str(&format!("clean/{name}\t{text}\n"));
        noisy.push_str(&format!("noisy/{name}\t{text}\n"));
    }
    std::fs::write(&set.noisy, noisy).unwrap();
    std::fs::write(&set.clean, clean).unwrap();
    Some(set)
}

fn read_i16(path: &Path) -> (hound::WavSpec, Vec<i16>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    (spec, r.samples::<i16>().map(Result::unwrap).collect())
}

/// Brown (1/f²) noise: leaky integration of uniform white noise, deterministic for a seed.
pub fn brown_noise(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed | 1;
    let mut y = 0.0;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let white = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            y = 0.998 * y + white;
            y
        })
        .collect()
}

/// `speech` with `noise` added `snr_db` below its RMS.
pub fn under(speech: &[i16], noise: &[f64], snr_db: f64) -> Vec<i16> {
    let rms = |x: &mut dyn Iterator<Item = f64>, n: usize| (x.map(|v| v * v).sum::<f64>() / n.max(1) as f64).sqrt();
    let speech_rms = rms(&mut speech.iter().map(|&s| s as f64), speech.len());
    let noise_rms = rms(&mut noise.iter().copied(), noise.len()).max(1e-9);
    let gain = speech_rms / noise_rms / 10f64.powf(snr_db / 20.0);
    speech.iter().zip(noise).map(|(&s, &n)| (s as f64 + gain * n).round().clamp(-32768.0, 32767.0) as i16).collect()
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Runs the Piper script on `lines` into `<dir>/clean/NNN.wav`.
fn speak(real: &Path, dir: &Path, lines: &[&str]) -> Option<()> {
    let python = std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = dir.join("piper_speak.py");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&script, SPEAK_SCRIPT).unwrap();
    let mut child = match std::process::Command::new(&python)
        .arg(&script)
        .arg(real.join("piper/en_US-joe-medium.onnx"))
        .arg(dir.join("clean"))
        .stdin(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return skip(format!("cannot run {python} for Piper ({e}); set HEARTH_PYTHON to the test venv")),
    };
    use std::io::Write;
    child.stdin.take().unwrap().write_all(lines.join("\n").as_bytes()).unwrap();
    let status = child.wait().unwrap();
    if !status.success() {
        return skip(format!("{python} {} failed ({status}): is piper-tts installed (scripts/test-requirements.txt)?", script.display()));
    }
    Some(())
}
