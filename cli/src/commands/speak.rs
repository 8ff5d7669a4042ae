//! `hearth speak "text" -o out.wav [--voice …]`: the TTS service's engine, without the bus, into a WAV.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use hearth_node::NodeFile;
use hearth_tts::espeak::Espeak;
use hearth_tts::{Engine, TtsConfig};

#[derive(Args)]
pub struct SpeakArgs {
    /// What to say (numbers, times and units are spoken as the service speaks them).
    pub text: String,
    /// The WAV file to write (16-bit mono at the voice's rate).
    #[arg(long, short)]
    pub output: PathBuf,
    /// A Piper voice: a `.onnx` path, a voice name (`en_US-joe-medium`) or part of one (`joe`), looked
    /// up in the models directory's `piper/`; or `espeak-ng[:VOICE]` for espeak-ng's own voice.
    /// Default: the `[tts]` voice, with espeak-ng when it is not installed (as the service does).
    #[arg(long)]
    pub voice: Option<String>,
}

pub fn run(file: &NodeFile, args: SpeakArgs) -> anyhow::Result<ExitCode> {
    let mut config = TtsConfig::from_node(file)?;
    let mut engine = match args.voice.as_deref() {
        Some(espeak) if espeak == "espeak-ng" || espeak.starts_with("espeak-ng:") => {
            let voice = espeak.strip_prefix("espeak-ng:").unwrap_or(&config.espeak_voice).to_string();
            let espeak = Espeak::global(config.espeak_data_dir.as_deref())?;
            // An unknown voice name fails here rather than speaking silence.
            espeak.clauses(&voice, "ok")?;
            Engine::with_espeak(&voice, config.espeak_rate_wpm, espeak)
        }
        Some(wanted) => {
            let dirs = [config.models_dir.join("piper"), hearth_tts::voices::real_models_piper_dir()];
            config.voice_path = Some(hearth_tts::voices::find_voice(wanted, &dirs)?);
            let engine = Engine::load(&config)?;
            // A voice asked for by name must speak, not quietly give way to espeak-ng.
            if let Some(why) = &engine.fallback_reason {
                anyhow::bail!("cannot use voice `{wanted}`: {why}");
            }
            engine
        }
        None => {
            let engine = Engine::load(&config)?;
            if let Some(why) = &engine.fallback_reason {
                eprintln!("speaking with espeak-ng: {why}");
            }
            engine
        }
    };
    let start = Instant::now();
    let audio = engine.speak(&args.text)?;
    let synth_s = start.elapsed().as_secs_f64();
    anyhow::ensure!(!audio.is_empty(), "nothing to say in {:?}", args.text);
    let rate = engine.sample_rate_hz();
    let spec = hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let write = || -> Result<(), hound::Error> {
        let mut writer = hound::WavWriter::create(&args.output, spec)?;
        for s in &audio {
            writer.write_sample(*s)?;
        }
        writer.finalize()
    };
    write().with_context(|| format!("cannot write {}", args.output.display()))?;
    let audio_s = audio.len() as f64 / rate as f64;
    println!(
        "{}: {audio_s:.2} s at {rate} Hz, voice {}, synthesized in {synth_s:.2} s (real-time factor {:.3})",
        args.output.display(),
        engine.voice_name(),
        synth_s / audio_s
    );
    Ok(ExitCode::SUCCESS)
}
