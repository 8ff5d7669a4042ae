//! Checks on files: models, the ONNX Runtime library, audio devices, espeak-ng.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::report::Check;

/// A model file a service needs, at its default place under `models_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFile {
    /// The service that loads it.
    pub service: &'static str,
    /// Path relative to `models_dir`.
    pub relative: &'static str,
    pub format: ModelFormat,
    /// The name for `hearth models pull <name>`.
    pub pull: &'static str,
}

/// What a model file must start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFormat {
    /// llama.cpp: the bytes `GGUF`.
    Gguf,
    /// whisper.cpp's legacy format: magic 0x67676d6c little-endian (`lmgg`).
    WhisperGgml,
    /// ONNX protobuf: field 1 (`ir_version`, varint) first, byte 0x08.
    Onnx,
    /// Piper's voice description: a JSON object.
    Json,
}

/// Every model file of every service, with the default paths the services use.
pub const MODEL_FILES: &[ModelFile] = &[
    ModelFile { service: "asr", relative: "whisper/ggml-tiny.en.bin", format: ModelFormat::WhisperGgml, pull: "whisper-tiny.en" },
    ModelFile { service: "llm", relative: "llm/Qwen3-4B-Instruct-2507-Q4_K_M.gguf", format: ModelFormat::Gguf, pull: "qwen3-4b-instruct" },
    ModelFile { service: "tts", relative: "piper/en_US-lessac-medium.onnx", format: ModelFormat::Onnx, pull: "piper-en_US-lessac-medium" },
    ModelFile { service: "tts", relative: "piper/en_US-lessac-medium.onnx.json", format: ModelFormat::Json, pull: "piper-en_US-lessac-medium" },
    ModelFile { service: "wake", relative: "openwakeword/melspectrogram.onnx", format: ModelFormat::Onnx, pull: "openwakeword" },
    ModelFile { service: "wake", relative: "openwakeword/embedding_model.onnx", format: ModelFormat::Onnx, pull: "openwakeword" },
    ModelFile { service: "listen", relative: "silero-vad/silero_vad.onnx", format: ModelFormat::Onnx, pull: "silero-vad" },
];

/// Services that load ONNX models through ONNX Runtime.
pub const ORT_SERVICES: &[&str] = &["wake", "listen", "tts"];

/// Checks one model file: present, readable, not a Git LFS pointer, starting as its format does.
pub fn check_model(models_dir: &Path, model: &ModelFile, override_path: Option<&Path>) -> Check {
    let path = override_path.map(Path::to_path_buf).unwrap_or_else(|| models_dir.join(model.relative));
    let name = format!("model {}", model.service);
    let fix = format!("hearth models pull {}", model.pull);
    let mut head = [0u8; 64];
    let n = match File::open(&path).and_then(|mut f| f.read(&mut head)) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Check::fail(name, format!("{} is missing", path.display()), fix);
        }
        Err(e) => {
            return Check::fail(
                name,
                format!("{} cannot be read: {e}", path.display()),
                format!("give the hearth user read access: sudo chmod a+r {}", path.display()),
            );
        }
    };
    let head = &head[..n];
    if head.starts_with(b"version https://git-lfs") {
        return Check::fail(name, format!("{} is a Git LFS pointer, not the model", path.display()), fix);
    }
    let good = match model.format {
        ModelFormat::Gguf => head.starts_with(b"GGUF"),
        ModelFormat::WhisperGgml => head.starts_with(&0x6767_6d6cu32.to_le_bytes()),
        ModelFormat::Onnx => head.first() == Some(&0x08),
        ModelFormat::Json => head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
    };
    if !good {
        return Check::fail(name, format!("{} is not a {:?} file (damaged or wrong download)", path.display(), model.format), fix);
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Check::ok(name, format!("{} ({})", path.display(), human_size(size)))
}

/// Every wake word classifier in `openwakeword/` (any `.onnx` besides the two shared front ends).
pub fn check_wake_words(models_dir: &Path) -> Check {
    let dir = models_dir.join("openwakeword");
    let words: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".onnx") && n != "melspectrogram.onnx" && n != "embedding_model.onnx")
        .collect();
    if words.is_empty() {
        Check::fail("model wake", format!("no wake word model (*.onnx) in {}", dir.display()), "hearth models pull openwakeword-words (or put a community openWakeWord .onnx there)")
    } else {
        Check::ok("model wake", format!("wake words: {}", words.join(", ")))
    }
}

/// Where the ONNX Runtime library is looked for: a section's `onnxruntime` key, else
/// `ORT_DYLIB_PATH`, else `<data_dir>/lib/libonnxruntime.so`.
pub fn ort_path(from_config: Option<PathBuf>, env: Option<PathBuf>, data_dir: &Path) -> PathBuf {
    from_config.or(env).unwrap_or_else(|| data_dir.join("lib/libonnxruntime.so"))
}

/// The ELF machine number of this build's architecture.
fn host_elf_machine() -> Option<u16> {
    match std::env::consts::ARCH {
        "x86_64" => Some(62),
        "aarch64" => Some(183),
        "arm" => Some(40),
        _ => None,
    }
}

/// Checks that the ONNX Runtime library exists and is a shared library for this machine.
pub fn check_onnxruntime(path: &Path, data_dir: &Path) -> Check {
    let fix = format!("scripts/install-onnxruntime.sh {}", data_dir.join("lib").display());
    let mut head = [0u8; 20];
    match File::open(path).and_then(|mut f| f.read_exact(&mut head)) {
        Ok(()) => {}
        Err(e) => return Check::fail("onnxruntime", format!("{}: {e}", path.display()), fix),
    }
    if &head[..4] != b"\x7fELF" {
        return Check::fail("onnxruntime", format!("{} is not a shared library", path.display()), fix);
    }
    let machine = u16::from_le_bytes([head[18], head[19]]);
    if let Some(host) = host_elf_machine() {
        if machine != host {
            return Check::fail(
                "onnxruntime",
                format!("{} is built for another CPU (ELF machine {machine}, this is {})", path.display(), std::env::consts::ARCH),
                fix,
            );
        }
    }
    Check::ok("onnxruntime", path.display().to_string())
}

/// Sound cards and their capture and playback devices, from `/proc/asound` (what `aplay -l` and
/// `arecord -l` read), without opening any device.
pub fn check_audio(asound_dir: &Path) -> Check {
    let fix = "connect a USB microphone and speaker (or a sound HAT), then check with `arecord -l` and `aplay -l`; \
               the service user needs the audio group: sudo usermod -aG audio hearth";
    let cards = match std::fs::read_to_string(asound_dir.join("cards")) {
        Ok(t) => t,
        Err(e) => return Check::fail("audio", format!("{}/cards: {e} (no ALSA)", asound_dir.display()), fix),
    };
    // Card lines look like ` 0 [Device         ]: USB-Audio - USB PnP Sound Device`.
    let names: Vec<String> = cards
        .lines()
        .filter(|l| l.split_whitespace().next().is_some_and(|n| n.parse::<u32>().is_ok()) && l.contains("]:"))
        .filter_map(|l| l.split_once("]:").map(|(_, rest)| rest.trim().to_string()))
        .collect();
    if names.is_empty() {
        return Check::fail("audio", "no sound cards", fix);
    }
    // PCM lines look like `00-00: USB Audio : USB Audio : playback 1 : capture 1`.
    let pcm = std::fs::read_to_string(asound_dir.join("pcm")).unwrap_or_default();
    let capture = pcm.lines().filter(|l| l.contains("capture")).count();
    let playback = pcm.lines().filter(|l| l.contains("playback")).count();
    match (capture, playback) {
        (0, _) => Check::fail("audio", format!("no microphone (capture device) on {}", names.join("; ")), fix),
        (_, 0) => Check::fail("audio", format!("no speaker (playback device) on {}", names.join("; ")), fix),
        _ => Check::ok("audio", format!("{capture} capture, {playback} playback on {}", names.join("; "))),
    }
}

/// Library directories of Debian on this architecture, plus `LD_LIBRARY_PATH`.
pub fn library_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    let triplet = match std::env::consts::ARCH {
        "aarch64" => "aarch64-linux-gnu",
        "arm" => "arm-linux-gnueabihf",
        _ => "x86_64-linux-gnu",
    };
    for d in [format!("/usr/lib/{triplet}"), format!("/lib/{triplet}"), "/usr/local/lib".into(), "/usr/lib".into(), "/lib".into()] {
        dirs.push(d.into());
    }
    dirs
}

/// espeak-ng: the shared library (Piper's phonemizer and the fallback voice) and its voice data.
pub fn check_espeak(lib_dirs: &[PathBuf]) -> Check {
    let fix = "sudo apt-get install espeak-ng libespeak-ng1";
    let lib = lib_dirs.iter().map(|d| d.join("libespeak-ng.so.1")).find(|p| p.exists());
    let Some(lib) = lib else {
        return Check::fail("espeak-ng", "libespeak-ng.so.1 not found", fix);
    };
    let data_places: Vec<PathBuf> = lib_dirs
        .iter()
        .map(|d| d.join("espeak-ng-data"))
        .chain([PathBuf::from("/usr/share/espeak-ng-data")])
        .collect();
    match data_places.iter().find(|d| d.join("phontab").exists()) {
        Some(data) => Check::ok("espeak-ng", format!("{} with data in {}", lib.display(), data.display())),
        None => Check::fail("espeak-ng", format!("{} found but no espeak-ng-data (phontab)", lib.display()), fix),
    }
}

pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn write(path: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn models_pass_when_present_and_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        for m in MODEL_FILES {
            let bytes: &[u8] = match m.format {
                ModelFormat::Gguf => b"GGUF\x03\x00\x00\x00",
                ModelFormat::WhisperGgml => &[0x6c, 0x6d, 0x67, 0x67, 1, 2],
                ModelFormat::Onnx => &[0x08, 0x07, 0x12, 0x00],
                ModelFormat::Json => b"  {\"audio\": {}}",
            };
            write(&dir.path().join(m.relative), bytes);
            let c = check_model(dir.path(), m, None);
            assert_eq!(c.status, Status::Ok, "{c:?}");
        }
    }

    #[test]
    fn models_fail_missing_lfs_and_wrong_format_with_the_pull_command() {
        let dir = tempfile::tempdir().unwrap();
        let llm = MODEL_FILES.iter().find(|m| m.service == "llm").unwrap();
        let c = check_model(dir.path(), llm, None);
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("missing") && c.fix.as_deref() == Some("hearth models pull qwen3-4b-instruct"), "{c:?}");
        write(&dir.path().join(llm.relative), b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n");
        assert!(check_model(dir.path(), llm, None).detail.contains("Git LFS"));
        write(&dir.path().join(llm.relative), b"<html>404</html>");
        assert!(check_model(dir.path(), llm, None).detail.contains("not a Gguf file"));
        // An override path is used instead of the default.
        let other = dir.path().join("elsewhere.gguf");
        write(&other, b"GGUFxxxx");
        assert_eq!(check_model(dir.path(), llm, Some(&other)).status, Status::Ok);
    }

    #[test]
    fn wake_words_need_a_classifier() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("openwakeword/melspectrogram.onnx"), &[8]);
        assert_eq!(check_wake_words(dir.path()).status, Status::Fail);
        write(&dir.path().join("openwakeword/hey_jarvis_v0.1.onnx"), &[8]);
        let c = check_wake_words(dir.path());
        assert_eq!(c.status, Status::Ok);
        assert!(c.detail.contains("hey_jarvis_v0.1.onnx"));
    }

    #[test]
    fn onnxruntime_paths_and_checks() {
        let data = Path::new("/var/lib/hearth");
        assert_eq!(ort_path(None, None, data), Path::new("/var/lib/hearth/lib/libonnxruntime.so"));
        assert_eq!(ort_path(None, Some("/e.so".into()), data), Path::new("/e.so"));
        assert_eq!(ort_path(Some("/c.so".into()), Some("/e.so".into()), data), Path::new("/c.so"));

        let dir = tempfile::tempdir().unwrap();
        let missing = check_onnxruntime(&dir.path().join("libonnxruntime.so"), dir.path());
        assert_eq!(missing.status, Status::Fail);
        assert!(missing.fix.unwrap().starts_with("scripts/install-onnxruntime.sh"));
        let fake = dir.path().join("text.so");
        write(&fake, b"this is not a library at all");
        assert!(check_onnxruntime(&fake, dir.path()).detail.contains("not a shared library"));
        // A real shared library of this machine passes, one of another CPU does not.
        let mut elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00".to_vec();
        elf.extend(host_elf_machine().unwrap().to_le_bytes());
        write(&fake, &elf);
        assert_eq!(check_onnxruntime(&fake, dir.path()).status, Status::Ok);
        elf[18] = 0x99;
        write(&fake, &elf);
        assert!(check_onnxruntime(&fake, dir.path()).detail.contains("another CPU"));
    }

    #[test]
    fn installed_onnxruntime_passes_when_present() {
        let Some(home) = std::env::var_os("HOME") else { return };
        let installed = Path::new(&home).join(".local/share/hearth/lib/libonnxruntime.so");
        if !installed.exists() {
            eprintln!("skipping: {} not installed", installed.display());
            return;
        }
        assert_eq!(check_onnxruntime(&installed, Path::new("/tmp")).status, Status::Ok);
    }

    #[test]
    fn audio_from_proc_asound() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check_audio(dir.path()).status, Status::Fail);
        write(&dir.path().join("cards"), b"--- no soundcards ---\n");
        assert!(check_audio(dir.path()).detail.contains("no sound cards"));
        write(
            &dir.path().join("cards"),
            b" 0 [Device         ]: USB-Audio - USB PnP Sound Device\n                      C-Media at usb-1, full speed\n",
        );
        write(&dir.path().join("pcm"), b"00-00: USB Audio : USB Audio : playback 1\n");
        let c = check_audio(dir.path());
        assert!(c.status == Status::Fail && c.detail.contains("no microphone"), "{c:?}");
        write(&dir.path().join("pcm"), b"00-00: USB Audio : USB Audio : playback 1 : capture 1\n");
        let c = check_audio(dir.path());
        assert_eq!(c.status, Status::Ok, "{c:?}");
        assert!(c.detail.contains("USB-Audio - USB PnP Sound Device"));
    }

    #[test]
    fn espeak_library_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = vec![dir.path().to_path_buf()];
        let c = check_espeak(&dirs);
        assert!(c.status == Status::Fail && c.fix.as_deref().unwrap().contains("apt-get install espeak-ng"));
        write(&dir.path().join("libespeak-ng.so.1"), b"\x7fELF");
        // Data may be found system-wide; only assert the failure when it is not installed here.
        if !Path::new("/usr/share/espeak-ng-data/phontab").exists() {
            assert!(check_espeak(&dirs).detail.contains("no espeak-ng-data"));
        }
        write(&dir.path().join("espeak-ng-data/phontab"), b"x");
        assert_eq!(check_espeak(&dirs).status, Status::Ok);
    }
}
