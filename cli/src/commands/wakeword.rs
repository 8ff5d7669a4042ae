//! `hearth wakeword record | train | eval | near-misses`: train your own wake word on this machine
//! (the `hearth-wakeword` crate does the work). The model lands in the wake service's model directory,
//! so `[wake] words = [{ model = "ok_computer" }]` loads it by name.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use hearth_audio::config::AudioConfig;
use hearth_audio::mic::{Mic, MicEvent};
use hearth_node::NodeFile;
use hearth_tts::TtsConfig;
use hearth_wake::WakeConfig;
use hearth_wakeword::dataset::Sizes;
use hearth_wakeword::eval::{self, Scorer};
use hearth_wakeword::features::FrontEnd;
use hearth_wakeword::model::TrainSettings;
use hearth_wakeword::nearmiss::{self, NearMissLimits};
use hearth_wakeword::record::{self, TakeKind, TakeOutcome, TakeSource, WavFiles};
use hearth_wakeword::train::{self, TrainOptions};
use hearth_wakeword::voices::Speaker;
use hearth_wakeword::WakewordError;

#[derive(Subcommand)]
pub enum WakewordCommand {
    /// Guided takes of the phrase, its near-misses and the room's background, level-checked, from the
    /// microphone or from WAV files.
    Record(RecordArgs),
    /// Train a classifier for a phrase: synthetic voices, near-misses, noise, your recordings.
    Train(TrainArgs),
    /// The report for a model: on its held-out voices, or on a folder of WAV files.
    Eval(EvalArgs),
    /// Print the near-miss phrases `train` would use for a phrase.
    NearMisses { phrase: String },
}

#[derive(Args)]
pub struct RecordArgs {
    /// The wake phrase, e.g. "ok computer".
    pub phrase: String,
    /// Folder for the takes (default `<data_dir>/wakeword/<name>/recordings`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Takes of the phrase to keep.
    #[arg(long, default_value_t = record::PHRASE_TAKES)]
    pub takes: usize,
    /// Takes of each near-miss (0 skips them).
    #[arg(long, default_value_t = 3)]
    pub near_miss_takes: usize,
    /// Near-miss phrases to record (default: the first few `near-misses` proposes).
    #[arg(long = "near-miss")]
    pub near_misses: Vec<String>,
    /// Takes of the room's background, each `--room-seconds` long (0 skips them).
    #[arg(long, default_value_t = 3)]
    pub room_takes: usize,
    #[arg(long, default_value_t = 30)]
    pub room_seconds: u32,
    /// Use these WAV files as phrase takes instead of the microphone.
    #[arg(long = "phrase-wav", num_args = 1..)]
    pub phrase_wavs: Vec<PathBuf>,
    /// Near-miss takes from WAV files: `"ok=ok1.wav"` (repeat).
    #[arg(long = "near-miss-wav")]
    pub near_miss_wavs: Vec<String>,
    /// Room background from WAV files.
    #[arg(long = "room-wav", num_args = 1..)]
    pub room_wavs: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SizeChoice {
    /// Every espeak-ng speaker and up to 60 speakers per Piper voice (the goal figures are for this).
    Full,
    /// A quick run for a first try (a few minutes).
    Small,
}

#[derive(Args)]
pub struct TrainArgs {
    /// The wake phrase, e.g. "ok computer".
    pub phrase: String,
    #[arg(long, value_enum, default_value_t = SizeChoice::Full)]
    pub size: SizeChoice,
    /// Folders with more Piper voices (the node's `<models_dir>/piper` is always used).
    #[arg(long = "voices")]
    pub voice_dirs: Vec<PathBuf>,
    /// Recordings folder (default `<data_dir>/wakeword/<name>/recordings` when it exists).
    #[arg(long)]
    pub recordings: Option<PathBuf>,
    /// Where the model goes (default the wake service's model directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub epochs: Option<usize>,
    /// espeak-ng speakers to use (default by `--size`; 0 for Piper voices only).
    #[arg(long)]
    pub espeak_speakers: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Args)]
pub struct EvalArgs {
    /// The model: a name in the wake model directory (`ok_computer`) or a path.
    pub model: String,
    /// A folder of WAV files (`positive/`, `positive-noise/`, `nearmiss/<phrase>/`, `speech/`,
    /// `noise/`, `chime/`); without it, the model's own held-out test voices.
    pub dir: Option<PathBuf>,
    /// Report at this threshold instead of the suggested one.
    #[arg(long)]
    pub threshold: Option<f32>,
    #[arg(long = "voices")]
    pub voice_dirs: Vec<PathBuf>,
}

pub fn run(file: &NodeFile, command: WakewordCommand) -> anyhow::Result<ExitCode> {
    let paths = Paths::new(file)?;
    match command {
        WakewordCommand::NearMisses { phrase } => {
            for nm in nearmiss::near_misses(&phrase, &NearMissLimits::default())? {
                println!("{:<12} {}", format!("{:?}", nm.kind), nm.text);
            }
            Ok(ExitCode::SUCCESS)
        }
        WakewordCommand::Record(args) => record_cmd(file, &paths, args),
        WakewordCommand::Train(args) => {
            let opts = paths.train_options(&args.phrase, &args.voice_dirs, args.recordings.clone(), args.size, args.seed)?;
            let mut opts = TrainOptions { out_dir: args.out.clone().unwrap_or(opts.out_dir.clone()), ..opts };
            if let Some(e) = args.epochs {
                opts.settings.epochs = e;
            }
            if let Some(n) = args.espeak_speakers {
                opts.sizes.espeak_speakers = n;
            }
            let trained = train::train(&opts)?;
            let card = &trained.card;
            println!("\nmodel {} (card {})", trained.model.display(), train::card_path(&trained.model).display());
            println!(
                "{} training / {} validation / {} test speakers, {} training windows, {:.0} s ({:.0} s features, {:.0} s training)",
                card.train_speakers,
                card.validation_speakers,
                card.test_speakers,
                card.train_windows,
                card.seconds.total,
                card.seconds.features,
                card.seconds.training
            );
            println!("on the test voices (never trained on, threshold chosen on the validation voices):\n{}", card.report);
            println!("use it: [wake] words = [{{ model = \"{}\", threshold = {:.2} }}]", card.name, card.suggested_threshold);
            Ok(ExitCode::SUCCESS)
        }
        WakewordCommand::Eval(args) => {
            let model = paths.resolve_model(&args.model)?;
            let report = match &args.dir {
                Some(dir) => {
                    let mut scorer = Scorer::load(&model, &paths.onnxruntime)?;
                    let mut front = FrontEnd::load(&paths.front_end, &paths.onnxruntime, 2)?;
                    eval::evaluate_dir(dir, &mut scorer, &mut front, args.threshold)?
                }
                None => {
                    let card = train::read_card(&model).context("`eval MODEL` without a folder needs the card `train` wrote")?;
                    let mut opts = paths.train_options(&card.phrase, &args.voice_dirs, None, SizeChoice::Full, card.seed)?;
                    opts.sizes = card.sizes.clone();
                    opts.recordings = card.recordings.clone();
                    for dir in &card.piper_dirs {
                        if !opts.piper_dirs.contains(dir) {
                            opts.piper_dirs.push(dir.clone());
                        }
                    }
                    train::evaluate_held_out(&opts, &model, args.threshold)?
                }
            };
            println!("{}: {report}", model.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The node's directories as this command uses them.
struct Paths {
    wake_dir: PathBuf,
    front_end: PathBuf,
    onnxruntime: PathBuf,
    piper_dir: PathBuf,
    data_dir: PathBuf,
    own_voice: Speaker,
}

impl Paths {
    fn new(file: &NodeFile) -> anyhow::Result<Paths> {
        let wake = WakeConfig::load(file)?;
        let tts = TtsConfig::from_node(file)?;
        let voice = tts.voice_model();
        let own_voice = if voice.is_file() {
            let label = voice.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Speaker::Piper { model: voice, speaker_id: None, label }
        } else {
            Speaker::Espeak { voice: tts.espeak_voice.clone(), rate_wpm: tts.espeak_rate_wpm }
        };
        Ok(Paths {
            wake_dir: wake.model_dir(),
            front_end: wake.model_dir(),
            onnxruntime: wake.onnxruntime(),
            piper_dir: file.node.models_dir().join("piper"),
            data_dir: file.node.data_dir.clone(),
            own_voice,
        })
    }

    fn recordings_dir(&self, phrase: &str) -> anyhow::Result<PathBuf> {
        Ok(self.data_dir.join("wakeword").join(nearmiss::model_name(phrase)?).join("recordings"))
    }

    fn default_recordings(&self, phrase: &str) -> anyhow::Result<Option<PathBuf>> {
        let dir = self.recordings_dir(phrase)?;
        Ok(dir.is_dir().then_some(dir))
    }

    fn train_options(
        &self,
        phrase: &str,
        extra_voices: &[PathBuf],
        recordings: Option<PathBuf>,
        size: SizeChoice,
        seed: u64,
    ) -> anyhow::Result<TrainOptions> {
        let mut piper_dirs = vec![self.piper_dir.clone()];
        piper_dirs.extend(extra_voices.iter().cloned());
        let recordings = match recordings {
            Some(r) => Some(r),
            None => self.default_recordings(phrase)?,
        };
        Ok(TrainOptions {
            phrase: phrase.into(),
            out_dir: self.wake_dir.clone(),
            front_end_dir: self.front_end.clone(),
            onnxruntime: self.onnxruntime.clone(),
            piper_dirs,
            own_voice: Some(self.own_voice.clone()),
            recordings,
            cache_dir: self.data_dir.join("wakeword").join("cache"),
            sizes: match size {
                SizeChoice::Full => Sizes::full(),
                SizeChoice::Small => Sizes::small(),
            },
            settings: TrainSettings::default(),
            seed,
            progress: true,
            threads: 2,
        })
    }

    fn resolve_model(&self, model: &str) -> anyhow::Result<PathBuf> {
        let p = Path::new(model);
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        hearth_wake::config::resolve_model(&self.wake_dir, model)
            .with_context(|| format!("no model {model:?} in {} (train one with `hearth wakeword train`)", self.wake_dir.display()))
    }
}

fn record_cmd(file: &NodeFile, paths: &Paths, args: RecordArgs) -> anyhow::Result<ExitCode> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => paths.recordings_dir(&args.phrase)?,
    };
    let from_files = !args.phrase_wavs.is_empty() || !args.near_miss_wavs.is_empty() || !args.room_wavs.is_empty();
    let near_misses: Vec<String> = if !args.near_misses.is_empty() {
        args.near_misses.clone()
    } else if from_files {
        Vec::new()
    } else {
        nearmiss::near_misses(&args.phrase, &NearMissLimits::default())?.into_iter().take(4).map(|n| n.text).collect()
    };
    println!("recording into {}", dir.display());
    let mut refused = 0usize;
    let mut report = |kind: &TakeKind, i: usize, o: &TakeOutcome, from: Option<&Path>| {
        let from = from.map(|p| format!(" ({})", p.display())).unwrap_or_default();
        match o {
            TakeOutcome::Kept { path, level } => println!(
                "  kept {}{from}: peak {:.0} dBFS, speech {:.0} dBFS, {} ms",
                path.file_name().unwrap_or_default().to_string_lossy(),
                level.peak_dbfs,
                level.speech_dbfs,
                level.speech_ms
            ),
            TakeOutcome::Refused(why) => {
                refused += 1;
                println!("  take {} of {kind:?} refused{from}: {why} — take it again", i + 1)
            }
        }
    };
    if from_files {
        let mut files = WavFiles::new(args.phrase_wavs.clone());
        record::record_takes(&dir, &TakeKind::Phrase, args.phrase_wavs.len(), &mut files, |i, o| {
            report(&TakeKind::Phrase, i, o, files_last(&args.phrase_wavs, i))
        })?;
        for spec in &args.near_miss_wavs {
            let (text, path) = spec.split_once('=').context("--near-miss-wav takes \"phrase=file.wav\"")?;
            let kind = TakeKind::NearMiss(text.trim().to_string());
            let mut files = WavFiles::new(vec![PathBuf::from(path)]);
            record::record_takes(&dir, &kind, 1, &mut files, |i, o| report(&kind, i, o, Some(Path::new(path))))?;
        }
        let mut files = WavFiles::new(args.room_wavs.clone());
        record::record_takes(&dir, &TakeKind::Room, args.room_wavs.len(), &mut files, |i, o| {
            report(&TakeKind::Room, i, o, files_last(&args.room_wavs, i))
        })?;
    } else {
        let mut mic = MicTakes::start(file, args.room_seconds)?;
        println!("{} takes of \"{}\", then near-misses, then the room. Enter starts each take; `q` ends a section early.", args.takes, args.phrase);
        record::record_takes(&dir, &TakeKind::Phrase, args.takes, &mut mic, |i, o| report(&TakeKind::Phrase, i, o, None))?;
        for text in &near_misses {
            let kind = TakeKind::NearMiss(text.clone());
            record::record_takes(&dir, &kind, args.near_miss_takes, &mut mic, |i, o| report(&kind, i, o, None))?;
        }
        record::record_takes(&dir, &TakeKind::Room, args.room_takes, &mut mic, |i, o| report(&TakeKind::Room, i, o, None))?;
    }
    let rec = record::load(&dir)?;
    println!(
        "{}: {} phrase takes, {} near-miss takes, {} room recordings{}",
        dir.display(),
        rec.positives.len(),
        rec.near_misses.len(),
        rec.room.len(),
        if refused > 0 { format!(" ({refused} takes refused)") } else { String::new() }
    );
    if rec.positives.len() < record::PHRASE_TAKES {
        println!("tip: {} or more takes of the phrase, at varied distance and tone, make the model know your voice", record::PHRASE_TAKES);
    }
    println!("next: hearth wakeword train \"{}\"", args.phrase);
    Ok(if refused > 0 && from_files { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn files_last(files: &[PathBuf], i: usize) -> Option<&Path> {
    files.get(i).map(PathBuf::as_path)
}

/// Takes from the microphone the audio service is configured with: Enter starts a take, which runs a
/// fixed time (3 s for a phrase, `room_seconds` for the room).
struct MicTakes {
    mic: Option<Mic>,
    frames: std_mpsc::Receiver<Vec<i16>>,
    room_seconds: u32,
}

impl MicTakes {
    fn start(file: &NodeFile, room_seconds: u32) -> anyhow::Result<MicTakes> {
        let config = AudioConfig::from_node(file)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let mic = Mic::start(&config, tx)?.context("[audio] input is `none`: no microphone to record from (give --phrase-wav files)")?;
        let (frames_tx, frames) = std_mpsc::channel();
        // Hand frames to the guide; stop at the first sign the microphone cannot work.
        let (ready_tx, ready_rx) = std_mpsc::channel();
        std::thread::spawn(move || {
            while let Some(event) = rx.blocking_recv() {
                match event {
                    MicEvent::Frame(f) => {
                        if frames_tx.send(f.samples).is_err() {
                            break;
                        }
                    }
                    MicEvent::Ready(what) => {
                        let _ = ready_tx.send(Ok(what));
                    }
                    MicEvent::Unavailable(why) => {
                        let _ = ready_tx.send(Err(why));
                    }
                }
            }
        });
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(what)) => println!("microphone: {what}"),
            Ok(Err(why)) => anyhow::bail!("the microphone cannot record: {why} (or give --phrase-wav files)"),
            Err(_) => anyhow::bail!("the microphone did not start within 10 s (or give --phrase-wav files)"),
        }
        Ok(MicTakes { mic: Some(mic), frames, room_seconds })
    }
}

impl Drop for MicTakes {
    fn drop(&mut self) {
        if let Some(m) = self.mic.take() {
            m.stop();
        }
    }
}

impl TakeSource for MicTakes {
    fn next_take(&mut self, kind: &TakeKind, prompt: &str) -> Result<Option<Vec<f32>>, WakewordError> {
        print!("{prompt} — press Enter and speak (q to skip the rest): ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 || line.trim() == "q" {
            return Ok(None);
        }
        while self.frames.try_recv().is_ok() {}
        let seconds = if *kind == TakeKind::Room { self.room_seconds as f32 } else { 3.0 };
        let until = Instant::now() + Duration::from_secs_f32(seconds);
        let mut samples = Vec::new();
        while Instant::now() < until {
            if let Ok(f) = self.frames.recv_timeout(Duration::from_millis(200)) {
                samples.extend(f);
            }
        }
        Ok(Some(hearth_wakeword::audio::from_s16(&samples)))
    }
}
