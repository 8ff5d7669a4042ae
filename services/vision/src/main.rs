//! `hearth-vision`: the vision service and the node's camera as their own process (llama.cpp cannot share a binary
//! with whisper.cpp), plus a one-picture demo and the benchmark. `hearth bench vision` runs `hearth-vision bench`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use hearth_node::NodeFile;
use hearth_vision::bench::{bench_vision, BenchOptions};
use hearth_vision::engine::{Engine, VisionModel};
use hearth_vision::{CameraConfig, VisionConfig, VisionPaths};

#[derive(Parser)]
#[command(name = "hearth-vision", version, about = "Hearth's vision service and camera")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Only {
    Vision,
    Camera,
}

#[derive(Subcommand)]
enum Command {
    /// Serve `look` calls (and, when `[camera]` is configured, this node's camera) until SIGINT or SIGTERM.
    Run {
        /// Node config file (default: $HEARTH_CONFIG, ~/.config/hearth/hearth.toml, /etc/hearth/hearth.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Run only one of the two services (a node with a camera but a small CPU runs `--only camera`).
        #[arg(long, value_enum)]
        only: Option<Only>,
    },
    /// Describe one picture file and print the sentences as they come (a demo of the model, no bus).
    Describe {
        /// A JPEG or PNG picture.
        image: PathBuf,
        /// What to ask (default: "What do you see?").
        #[arg(long)]
        question: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Measure load, image tokens, encode time and generation speed with splitting off and on.
    Bench {
        /// Language model to measure (default: a generated random-weight model of SmolVLM-256M's shape).
        #[arg(long, requires = "mmproj")]
        model: Option<PathBuf>,
        /// Its projector.
        #[arg(long, requires = "model")]
        mmproj: Option<PathBuf>,
        /// Picture to describe (default: a generated 640×480 frame).
        #[arg(long)]
        image: Option<PathBuf>,
        /// Where the generated model is kept.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// The generator script (fixtures/vision/make_vlm.py).
        #[arg(long)]
        script: Option<PathBuf>,
        /// CPU threads (default: one per core).
        #[arg(long)]
        threads: Option<u32>,
        /// Tokens generated per answer (the time to the last one is the "first sentence" figure).
        #[arg(long, default_value_t = 12)]
        tokens: u32,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> Result<()> {
    if std::env::var_os("RUST_LOG").is_none() {
        // llama.cpp logs every tensor at info level; keep its warnings and errors.
        std::env::set_var("RUST_LOG", "info,llama-cpp-2=warn");
    }
    hearth_node::logging::init();
    match Cli::parse().command {
        Command::Run { config, only } => {
            let file = NodeFile::load(config.as_deref())?;
            let vision = VisionConfig::from_node(&file)?;
            let camera = CameraConfig::from_node(&file)?;
            let paths = VisionPaths::from_node(&vision, &file.node);
            let run_vision = only != Some(Only::Camera);
            let camera = match (only, camera) {
                (Some(Only::Vision), _) => None,
                (Some(Only::Camera), None) => bail!("`--only camera` needs a [camera] table with device, url or file"),
                (_, camera) => camera,
            };
            let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(async {
                let vision_task = async {
                    if run_vision {
                        hearth_node::serve(&file, "vision", |bus, shutdown| hearth_vision::run(vision, paths, bus, shutdown)).await?;
                    }
                    Ok::<_, anyhow::Error>(())
                };
                let camera_task = async {
                    if let Some(camera) = camera {
                        hearth_node::serve(&file, "camera", |bus, shutdown| hearth_vision::run_camera(camera, bus, shutdown)).await?;
                    }
                    Ok::<_, anyhow::Error>(())
                };
                tokio::try_join!(vision_task, camera_task).map(|_| ())
            })?;
        }
        Command::Describe { image, question, config } => {
            let file = NodeFile::load(config.as_deref())?;
            let vision = VisionConfig::from_node(&file)?;
            let paths = VisionPaths::from_node(&vision, &file.node);
            let bytes = std::fs::read(&image).with_context(|| format!("cannot read {}", image.display()))?;
            let picture = hearth_vision::picture::decode(&bytes, vision.max_image_bytes)?;
            let model = VisionModel::load(&paths.model, &paths.mmproj)?;
            let mut engine = Engine::new(&model, &vision)?;
            let stats = engine.describe(&picture, question.as_deref(), |sentence| println!("{sentence}"))?;
            eprintln!(
                "{} image tokens, prompt {} ms, {} tokens generated in {} ms, first sentence after {} ms",
                stats.image_tokens,
                stats.prompt_ms,
                stats.generated_tokens,
                stats.generate_ms,
                stats.first_sentence_ms.map_or("-".into(), |ms| ms.to_string())
            );
        }
        Command::Bench { model, mmproj, image, cache_dir, script, threads, tokens, json } => {
            let mut options = BenchOptions::new();
            options.model = model.zip(mmproj);
            options.image = image;
            if let Some(dir) = cache_dir {
                options.cache_dir = dir;
            }
            if let Some(script) = script {
                options.script = script;
            }
            options.config.threads = threads.unwrap_or(0);
            options.config.max_tokens = tokens;
            options.config.validate().map_err(|(key, why)| anyhow::anyhow!("{key}: {why}"))?;
            let report = bench_vision(&options, |step| eprintln!("bench: {step}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{report}");
            }
        }
    }
    Ok(())
}
