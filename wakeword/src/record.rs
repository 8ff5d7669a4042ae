//! The user's recordings: guided takes of the phrase, of the near-misses and of the room's own
//! background, each level-checked (silent, too quiet, clipped or cut-short takes are refused with the
//! reason, so the user can take them again), stored as 16 kHz mono WAV in one folder:
//!
//! ```text
//! <dir>/phrase/take-001.wav …
//! <dir>/nearmiss/<near_miss_phrase>/take-001.wav …
//! <dir>/room/room-001.wav …
//! ```
//!
//! Takes come from any [`TakeSource`]: WAV files (tested here; this machine has no sound card) or a
//! microphone capture that the CLI supplies.

use std::path::{Path, PathBuf};

use crate::audio::{self, Level, LevelProblem};
use crate::dataset::Recordings;
use crate::WakewordError;

/// Shortest spoken part of a phrase take, milliseconds.
pub const MIN_PHRASE_MS: u32 = 250;
/// Shortest room background take, milliseconds.
pub const MIN_ROOM_MS: u32 = 5000;
/// Takes of the phrase the guide asks for (the seed needed 35 of the real voice).
pub const PHRASE_TAKES: usize = 20;

/// What a take is of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakeKind {
    Phrase,
    NearMiss(String),
    Room,
}

impl TakeKind {
    fn folder(&self, dir: &Path) -> PathBuf {
        match self {
            TakeKind::Phrase => dir.join("phrase"),
            TakeKind::NearMiss(text) => dir.join("nearmiss").join(text.replace(' ', "_")),
            TakeKind::Room => dir.join("room"),
        }
    }
}

/// Where takes come from: the next take's audio (16 kHz mono), or `None` when there are no more.
pub trait TakeSource {
    fn next_take(&mut self, kind: &TakeKind, prompt: &str) -> Result<Option<Vec<f32>>, WakewordError>;
}

/// Takes read from WAV files, in order.
pub struct WavFiles {
    files: std::vec::IntoIter<PathBuf>,
    /// The file the last take came from (for messages).
    pub last: Option<PathBuf>,
}

impl WavFiles {
    pub fn new(files: Vec<PathBuf>) -> Self {
        WavFiles { files: files.into_iter(), last: None }
    }
}

impl TakeSource for WavFiles {
    fn next_take(&mut self, _kind: &TakeKind, _prompt: &str) -> Result<Option<Vec<f32>>, WakewordError> {
        match self.files.next() {
            Some(path) => {
                let audio = audio::read_wav(&path)?;
                self.last = Some(path);
                Ok(Some(audio))
            }
            None => Ok(None),
        }
    }
}

/// The level check of one take.
pub fn check_take(kind: &TakeKind, take: &[f32]) -> Result<Level, LevelProblem> {
    let level = Level::of(take);
    let problem = match kind {
        TakeKind::Room => {
            let ms = (take.len() as u64 * 1000 / audio::RATE_HZ as u64) as u32;
            if level.peak_dbfs < -70.0 {
                Some(LevelProblem::Silent)
            } else if level.clipped_fraction > 0.001 {
                Some(LevelProblem::Clipped { percent: level.clipped_fraction * 100.0 })
            } else if ms < MIN_ROOM_MS {
                Some(LevelProblem::TooShort { speech_ms: ms })
            } else {
                None
            }
        }
        _ => level.problem(MIN_PHRASE_MS),
    };
    match problem {
        Some(p) => Err(p),
        None => Ok(level),
    }
}

/// What happened to each take offered.
#[derive(Debug, Clone, PartialEq)]
pub enum TakeOutcome {
    Kept { path: PathBuf, level: Level },
    Refused(LevelProblem),
}

/// Takes `wanted` good takes of `kind` from `source` into `dir`, asking again after each refused one
/// (at most `wanted` refusals in a row, so a muted microphone cannot loop forever). `on_take` sees
/// each outcome as it happens (the CLI prints it).
pub fn record_takes(
    dir: &Path,
    kind: &TakeKind,
    wanted: usize,
    source: &mut dyn TakeSource,
    mut on_take: impl FnMut(usize, &TakeOutcome),
) -> Result<Vec<TakeOutcome>, WakewordError> {
    let folder = kind.folder(dir);
    std::fs::create_dir_all(&folder).map_err(|e| WakewordError::file(&folder, e))?;
    let mut next_number = existing_takes(&folder).len() + 1;
    let mut outcomes = Vec::new();
    let (mut kept, mut refused_in_a_row) = (0, 0);
    while kept < wanted && refused_in_a_row <= wanted {
        let prompt = match kind {
            TakeKind::Phrase => format!("take {} of {wanted}: {}", kept + 1, take_hint(kept)),
            TakeKind::NearMiss(text) => format!("say \"{text}\" (take {} of {wanted})", kept + 1),
            TakeKind::Room => format!("stay quiet while the room's usual noise runs (vacuum, fan, TV) — take {} of {wanted}", kept + 1),
        };
        let Some(take) = source.next_take(kind, &prompt)? else { break };
        let outcome = match check_take(kind, &take) {
            Ok(level) => {
                let name = if *kind == TakeKind::Room { "room" } else { "take" };
                let path = folder.join(format!("{name}-{next_number:03}.wav"));
                audio::write_wav(&path, &take)?;
                next_number += 1;
                kept += 1;
                refused_in_a_row = 0;
                TakeOutcome::Kept { path, level }
            }
            Err(problem) => {
                refused_in_a_row += 1;
                TakeOutcome::Refused(problem)
            }
        };
        on_take(outcomes.len(), &outcome);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Varied distance and tone, as the seed learned a real voice needs.
fn take_hint(k: usize) -> &'static str {
    const HINTS: &[&str] = &[
        "normal voice, about a metre away",
        "from across the room",
        "quietly, close to the microphone",
        "a bit faster",
        "slowly, as if tired",
        "louder, from the doorway",
        "with your head turned away",
        "as a question",
    ];
    HINTS[k % HINTS.len()]
}

fn existing_takes(folder: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "wav")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Reads a recordings folder for training, checking every take again: a silent or clipped file that
/// found its way in is an error naming the file, not a silently poorer model.
pub fn load(dir: &Path) -> Result<Recordings, WakewordError> {
    if !dir.is_dir() {
        return Err(WakewordError::file(dir, "no recordings folder here — `hearth wakeword record` makes one"));
    }
    let mut rec = Recordings::default();
    let check = |kind: &TakeKind, path: &Path| -> Result<(), WakewordError> {
        let take = audio::read_wav(path)?;
        check_take(kind, &take).map(|_| ()).map_err(|p| WakewordError::BadRecording {
            path: path.into(),
            why: format!("{p}; record it again or delete it"),
        })
    };
    for path in existing_takes(&dir.join("phrase")) {
        check(&TakeKind::Phrase, &path)?;
        rec.positives.push(path);
    }
    if let Ok(rd) = std::fs::read_dir(dir.join("nearmiss")) {
        let mut folders: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
        folders.sort();
        for folder in folders {
            let text = folder.file_name().map(|s| s.to_string_lossy().replace('_', " ")).unwrap_or_default();
            for path in existing_takes(&folder) {
                check(&TakeKind::NearMiss(text.clone()), &path)?;
                rec.near_misses.push((text.clone(), path));
            }
        }
    }
    for path in existing_takes(&dir.join("room")) {
        check(&TakeKind::Room, &path)?;
        rec.room.push(path);
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: usize, amp: f32) -> Vec<f32> {
        let mut v = vec![0.0; 3200];
        v.extend((0..ms * 16).map(|i| amp * (i as f32 * 0.21).sin() * (1.0 + (i as f32 * 0.001).sin())));
        v.extend(vec![0.0; 3200]);
        v
    }

    #[test]
    fn wav_takes_are_checked_kept_or_refused_and_loaded() {
        let src = tempfile::tempdir().unwrap();
        let write = |name: &str, x: &[f32]| {
            let p = src.path().join(name);
            audio::write_wav(&p, x).unwrap();
            p
        };
        let good = write("good.wav", &tone(700, 0.3));
        let silent = write("silent.wav", &vec![0.0; 16000]);
        let clipped = write("clipped.wav", &tone(700, 1.0).iter().map(|s| (s * 4.0).clamp(-1.0, 1.0)).collect::<Vec<_>>());
        let good2 = write("good2.wav", &tone(900, 0.2));
        let dir = tempfile::tempdir().unwrap();
        let mut files = WavFiles::new(vec![good, silent, clipped, good2]);
        let mut seen = Vec::new();
        let outcomes = record_takes(dir.path(), &TakeKind::Phrase, 2, &mut files, |i, o| seen.push((i, o.clone()))).unwrap();
        assert_eq!(outcomes.len(), 4);
        assert!(matches!(outcomes[1], TakeOutcome::Refused(LevelProblem::Silent)));
        assert!(matches!(outcomes[2], TakeOutcome::Refused(LevelProblem::Clipped { .. })));
        assert_eq!(seen.len(), 4);
        let rec = load(dir.path()).unwrap();
        assert_eq!(rec.positives.len(), 2);
        assert!(rec.positives[1].ends_with("phrase/take-002.wav"));

        // A silent file put into the folder by hand is a clear error naming it.
        audio::write_wav(&dir.path().join("phrase/take-003.wav"), &vec![0.0; 16000]).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("take-003.wav") && err.contains("silent"), "{err}");
        assert!(load(&dir.path().join("nowhere")).unwrap_err().to_string().contains("hearth wakeword record"));
    }

    #[test]
    fn room_takes_need_length_and_sound() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        use rand::SeedableRng;
        let long = audio::noise(audio::NoiseKind::Vacuum, 16000 * 6, &mut rng);
        assert!(check_take(&TakeKind::Room, &long).is_ok());
        assert!(matches!(check_take(&TakeKind::Room, &long[..16000]), Err(LevelProblem::TooShort { .. })));
        assert!(matches!(check_take(&TakeKind::Room, &vec![0.0; 16000 * 6]), Err(LevelProblem::Silent)));
    }
}
