//! `hearth-llm`: the language model service as its own process (llama.cpp cannot share a binary with
//! whisper.cpp), plus its benchmark and routing evaluation. `hearth up`, `hearth bench llm` and
//! `hearth eval routing` run these subcommands.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use hearth_llm::bench::{bench_llm, BenchOptions};
use hearth_llm::eval::{comparison_table, eval_routing};
use hearth_llm::service::LlmPaths;
use hearth_llm::LlmConfig;
use hearth_node::NodeFile;

#[derive(Parser)]
#[command(name = "hearth-llm", version, about = "Hearth's language model service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve `llm/request` on the bus until SIGINT or SIGTERM.
    Run {
        /// Node config file (default: $HEARTH_CONFIG, ~/.config/hearth/hearth.toml, /etc/hearth/hearth.toml).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Measure load, prefix caching, prompt and generation speed.
    Bench {
        /// Model to measure (default: a generated random-weight model of Qwen3-4B's shape in Q4_K_M).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Where the generated model is kept.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// The generator script (fixtures/llm/make_gguf.py).
        #[arg(long)]
        script: Option<PathBuf>,
        /// CPU threads (default: one per core).
        #[arg(long)]
        threads: Option<u32>,
        /// Tokens generated per turn.
        #[arg(long, default_value_t = 16)]
        tokens: u32,
        /// Context window, tokens.
        #[arg(long, default_value_t = 4096)]
        context: u32,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate a model.
    Eval {
        #[command(subcommand)]
        what: Eval,
    },
}

#[derive(Subcommand)]
enum Eval {
    /// Does the model call the right tool (and no tool when none is wanted)? Several `--model`s are run one
    /// after the other and compared in one table.
    Routing {
        /// A GGUF model to evaluate (repeat to compare models).
        #[arg(long, required = true)]
        model: Vec<PathBuf>,
        /// Node config file whose `[llm]` settings to use (threads, context, sampling).
        #[arg(long)]
        config: Option<PathBuf>,
        /// CPU threads (default: `[llm] threads`, else one per core).
        #[arg(long)]
        threads: Option<u32>,
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
        Command::Run { config } => {
            let file = NodeFile::load(config.as_deref())?;
            let llm = LlmConfig::from_node(&file)?;
            let paths = LlmPaths::from_node(&llm, &file.node);
            let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(hearth_node::serve(&file, "llm", |bus, shutdown| hearth_llm::run(llm, paths, bus, shutdown)))?;
        }
        Command::Bench { model, cache_dir, script, threads, tokens, context, json } => {
            let mut options = BenchOptions::new(model);
            if let Some(dir) = cache_dir {
                options.cache_dir = dir;
            }
            if let Some(script) = script {
                options.script = script;
            }
            options.config.threads = threads.unwrap_or(0);
            options.config.max_tokens = tokens;
            options.config.context_tokens = context;
            options.config.validate().map_err(|(key, why)| anyhow::anyhow!("{key}: {why}"))?;
            let report = bench_llm(&options, |step| eprintln!("bench: {step}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{report}");
            }
        }
        Command::Eval { what: Eval::Routing { model, config, threads, json } } => {
            let file = NodeFile::load(config.as_deref())?;
            let mut llm = LlmConfig::from_node(&file)?;
            if let Some(t) = threads {
                llm.threads = t;
            }
            let mut results = Vec::new();
            for path in &model {
                if !json {
                    println!("== {}", path.display());
                }
                let result = eval_routing(path, &llm, |case| {
                    if !json {
                        println!("{case}");
                    }
                });
                match &result {
                    Ok(report) if !json => println!("{report}\n"),
                    Err(e) => eprintln!("{}: {e}", path.display()),
                    Ok(_) => {}
                }
                results.push((path.display().to_string(), result.map_err(|e| e.to_string())));
            }
            if json {
                let reports: Vec<_> = results
                    .iter()
                    .map(|(m, r)| match r {
                        Ok(report) => serde_json::to_value(report),
                        Err(e) => Ok(serde_json::json!({"model": m, "error": e})),
                    })
                    .collect::<Result<_, _>>()?;
                println!("{}", serde_json::to_string_pretty(&serde_json::Value::Array(reports))?);
            } else {
                println!("{}", comparison_table(&results));
            }
            if results.iter().all(|(_, r)| r.is_err()) {
                anyhow::bail!("no model could be evaluated");
            }
        }
    }
    Ok(())
}
