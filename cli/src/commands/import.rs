//! `hearth models import faster-whisper DIR [-o OUT]`: a model from another program, made usable here.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use hearth_models::faster_whisper;
use hearth_node::NodeFile;

#[derive(Subcommand)]
pub enum ImportWhat {
    /// A faster-whisper (CTranslate2) whisper model directory — model.bin, config.json and a vocabulary,
    /// as faster-whisper or the Wyoming faster-whisper add-on download them — converted to whisper.cpp's
    /// ggml format. Default output: <models_dir>/whisper/ggml-<size>[.en].bin.
    FasterWhisper {
        dir: PathBuf,
        /// Where to write the ggml file.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

pub fn run(file: &NodeFile, what: ImportWhat) -> anyhow::Result<ExitCode> {
    let ImportWhat::FasterWhisper { dir, output } = what;
    let output = match output {
        Some(path) => path,
        None => {
            let h = faster_whisper::inspect(&dir).with_context(|| format!("reading {}", dir.display()))?;
            file.node.models_dir().join("whisper").join(faster_whisper::default_file_name(&h))
        }
    };
    let imported = faster_whisper::import(&dir, &output).with_context(|| format!("importing {}", dir.display()))?;
    let h = &imported.hparams;
    println!(
        "{}: whisper {}{} ({} encoder / {} decoder layers, width {}, {} mel bands, {} tokens; weights were {}) → {} ({:.1} MB)",
        dir.display(),
        h.size_name(),
        if h.is_multilingual() { "" } else { ".en" },
        h.n_audio_layer,
        h.n_text_layer,
        h.n_audio_state,
        h.n_mels,
        imported.vocabulary,
        imported.source_types.join("+"),
        imported.path.display(),
        imported.bytes as f64 / 1e6,
    );
    let default = file.node.models_dir().join("whisper/ggml-tiny.en.bin");
    if imported.path != default {
        println!("to use it, set in the [asr] table of your config: model = \"{}\"", imported.path.display());
    }
    Ok(ExitCode::SUCCESS)
}
