//! Commands that run in `hearth-asr` or `hearth-llm`: whisper.cpp and llama.cpp each bundle ggml, so they
//! cannot link into `hearth` itself and live in binaries installed beside it.

use std::process::ExitCode;

use clap::Args;
use hearth_node::NodeFile;

/// Arguments handed to the other program as they are.
#[derive(Args)]
pub struct Passthrough {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs `<binary> <subcommand…> ARGS…` from beside this executable and returns its exit status. The node
/// config goes through `$HEARTH_CONFIG`, which every Hearth binary reads, so it reaches subcommands that
/// take no `--config` flag too.
pub fn exec(file: &NodeFile, binary: &str, subcommand: &[&str], args: Vec<String>) -> anyhow::Result<ExitCode> {
    let program = std::env::current_exe()?.with_file_name(binary);
    anyhow::ensure!(
        program.is_file(),
        "{binary} is not installed next to hearth ({}); build it with `cargo build --release -p {binary}` \
         (or run ./scripts/setup.sh)",
        program.display()
    );
    let mut cmd = std::process::Command::new(&program);
    cmd.args(subcommand);
    if let Some(path) = &file.path {
        cmd.env("HEARTH_CONFIG", path);
    }
    let status = cmd.args(args).status()?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
