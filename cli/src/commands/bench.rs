//! `hearth bench …`: speed figures live here, never in timed tests.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use hearth_node::NodeFile;

mod bus;

#[derive(Subcommand)]
pub enum BenchWhat {
    /// Publish→deliver latency and throughput of 20 ms audio frames: embedded broker vs mosquitto.
    Bus(bus::BusBenchArgs),
    /// Speech recognition (runs `hearth-asr bench`).
    Asr(Passthrough),
    /// Language model (runs `hearth-llm bench`).
    Llm(Passthrough),
}

/// Arguments handed to another program as they are.
#[derive(Args)]
pub struct Passthrough {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub async fn run(file: &NodeFile, what: BenchWhat) -> anyhow::Result<ExitCode> {
    match what {
        BenchWhat::Bus(args) => bus::run(args).await,
        BenchWhat::Asr(p) => exec_sibling(file, "hearth-asr", p.args),
        BenchWhat::Llm(p) => exec_sibling(file, "hearth-llm", p.args),
    }
}

/// Runs `<binary> bench ARGS…` from beside this executable and returns its exit status.
fn exec_sibling(file: &NodeFile, binary: &str, args: Vec<String>) -> anyhow::Result<ExitCode> {
    let program = std::env::current_exe()?.with_file_name(binary);
    anyhow::ensure!(
        program.is_file(),
        "{binary} is not installed next to hearth ({}); build it with `cargo build --release -p {binary}`",
        program.display()
    );
    let mut cmd = std::process::Command::new(&program);
    cmd.arg("bench");
    if let Some(path) = &file.path {
        cmd.arg("--config").arg(path);
    }
    let status = cmd.args(args).status()?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
