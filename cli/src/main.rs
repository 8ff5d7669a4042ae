//! The `hearth` command. It only parses the command line, sets up logging, loads the node config and
//! calls into the libraries (ripgrep's "core is glue").

mod commands;
mod services;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "hearth", version, about = "A voice assistant that runs entirely inside the house.")]
struct Cli {
    /// Node config file (default: $HEARTH_CONFIG, ~/.config/hearth/hearth.toml, /etc/hearth/hearth.toml, else built-in defaults).
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded MQTT broker in the foreground.
    Broker,
    /// Start the broker and every service this machine runs, supervised (restart with back-off).
    Up(commands::up::UpArgs),
    /// A thin satellite for one room: only its microphone, speaker and wake word, on the master's broker
    /// (found by its mDNS name, `master.local`, unless `--master` or `[bus] host` says otherwise).
    Satellite(commands::satellite::SatelliteArgs),
    /// Run one service in the foreground (what `hearth up` and the systemd units start).
    Service {
        /// One of: audio, wake, listen, brain, timers, tools, tts, ha, web, music; or arbiter (the wake word arbiter,
        /// which `hearth broker` and `hearth up` run beside the embedded broker; alone only beside
        /// another broker such as mosquitto).
        name: String,
    },
    /// Say something in several rooms at once (`--site kitchen --site hall`, or `--everywhere`).
    Announce(commands::announce::AnnounceArgs),
    /// Ask something as if it had been spoken, and print the answer sentences as they come.
    Say(commands::say::SayArgs),
    /// Speak text into a WAV file with the TTS service's engine (no bus, no running assistant needed).
    Speak(commands::speak::SpeakArgs),
    /// Wake word tools that run the wake service's engine directly.
    Wake {
        #[command(subcommand)]
        command: commands::wake::WakeCommand,
    },
    /// Train your own wake word: record takes, train a classifier, evaluate it.
    Wakeword {
        #[command(subcommand)]
        command: commands::wakeword::WakewordCommand,
    },
    /// Print every bus message as one JSON line (audio summarised). The companion of mosquitto_sub.
    Tap(commands::tap::TapArgs),
    /// Check config, broker, models, ONNX Runtime, sound cards and espeak-ng; say how to fix what is wrong.
    Doctor {
        /// Check for these services (default: the installed hearth-*.service units, else exactly what
        /// `hearth up` starts).
        #[arg(long = "service")]
        services: Vec<String>,
    },
    /// Transcribe WAV files with the speech recognition engine, no bus needed (runs
    /// `hearth-asr transcribe FILE.wav… [--verbose] [--model M] [--full-context] [--beam N]`).
    Transcribe(commands::sibling::Passthrough),
    /// Download and list models.
    Models {
        #[command(subcommand)]
        command: commands::models::ModelsCommand,
    },
    /// Evaluate models.
    Eval {
        #[command(subcommand)]
        what: EvalWhat,
    },
    /// Try sentences against the local intent templates.
    Intents {
        #[command(subcommand)]
        command: commands::intents::IntentsCommand,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: commands::bench::BenchWhat,
    },
}

#[derive(Subcommand)]
enum EvalWhat {
    /// Does a language model call the right tool, and no tool when none is wanted? Accuracy and speed over
    /// a fixed set of utterances; repeat `--model` to compare models in one table (runs
    /// `hearth-llm eval routing --model A.gguf --model B.gguf …`).
    Routing(commands::sibling::Passthrough),
    /// Local intent templates: precision and recall over labelled utterances, with each failure.
    Intents(commands::intents::EvalArgs),
    /// Speech recognition: word error rate and real-time factor over a manifest of `FILE.wav<TAB>reference`
    /// lines (runs `hearth-asr eval MANIFEST [--model M] [--full-context] [--beam N]`).
    Asr(commands::sibling::Passthrough),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Interactive commands print their own results; keep their logs to warnings.
    let quiet = matches!(
        cli.command,
        Command::Say(_)
            | Command::Announce(_)
            | Command::Tap(_)
            | Command::Intents { .. }
            | Command::Bench { .. }
            | Command::Eval { .. }
            | Command::Speak(_)
            | Command::Wake { .. }
            | Command::Wakeword { .. }
            | Command::Transcribe(_)
    );
    hearth_node::logging::init_with(if quiet { "warn" } else { "info" });
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hearth: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let file = hearth_node::NodeFile::load(cli.config.as_deref())?;
        match cli.command {
            Command::Broker => commands::broker::run(&file).await,
            Command::Up(args) => commands::up::run(&file, args).await,
            Command::Satellite(args) => commands::satellite::run(&file, args).await,
            Command::Service { name } => services::run(&file, &name).await,
            Command::Say(args) => commands::say::run(&file, args).await,
            Command::Announce(args) => commands::announce::run(&file, args).await,
            Command::Tap(args) => commands::tap::run(&file, args).await,
            Command::Speak(args) => commands::speak::run(&file, args),
            Command::Wake { command } => commands::wake::run(&file, command),
            // Synthesis, feature extraction and training are long blocking work: off the runtime.
            Command::Wakeword { command } => {
                std::thread::spawn(move || commands::wakeword::run(&file, command))
                    .join()
                    .map_err(|_| anyhow::anyhow!("the wakeword command panicked"))?
            }
            Command::Doctor { services } => {
                // Check exactly what `hearth up` would start, decided by the same function.
                let me = std::env::current_exe()?;
                let up = services::up_plan(&file, &[], false, &me)?;
                let options = hearth_doctor::Options {
                    config: file.path.clone(),
                    services: (!services.is_empty()).then_some(services),
                    up: Some(up.for_doctor()),
                    ..Default::default()
                };
                let ok = hearth_doctor::run_and_print(&options).await;
                Ok(if ok { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE })
            }
            Command::Models { command } => commands::models::run(&file, command).await,
            Command::Eval { what: EvalWhat::Routing(p) } => {
                commands::sibling::exec(&file, "hearth-llm", &["eval", "routing"], p.args)
            }
            Command::Eval { what: EvalWhat::Asr(p) } => commands::sibling::exec(&file, "hearth-asr", &["eval"], p.args),
            Command::Transcribe(p) => commands::sibling::exec(&file, "hearth-asr", &["transcribe"], p.args),
            Command::Bench { what } => commands::bench::run(&file, what).await,
            Command::Intents { command } => commands::intents::run(command),
            Command::Eval { what: EvalWhat::Intents(args) } => commands::intents::eval(args),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hearth: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
