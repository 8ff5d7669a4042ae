//! `hearth models pull [NAME…]` and `hearth models list`.

use std::process::ExitCode;

use clap::Subcommand;
use hearth_node::NodeFile;

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Download models (the default set when no name is given; `all` for every one) with resume and
    /// sha256 checks, into the models directory.
    Pull { names: Vec<String> },
    /// What is installed and where, with licences, and what is missing.
    List,
    /// Convert a model from another program into one Hearth can use.
    Import {
        #[command(subcommand)]
        what: super::import::ImportWhat,
    },
}

pub async fn run(file: &NodeFile, command: ModelsCommand) -> anyhow::Result<ExitCode> {
    let dir = file.node.models_dir();
    match command {
        ModelsCommand::Import { what } => super::import::run(file, what),
        ModelsCommand::List => {
            print!("{}", hearth_models::render(&hearth_models::list(&dir), &dir));
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::Pull { names } => {
            let mut bar = hearth_models::TerminalProgress::new();
            let report = hearth_models::pull(&dir, &names, &mut |p| bar.on_progress(p)).await?;
            for p in &report.pulled {
                let how = if p.downloaded { "downloaded" } else { "already installed" };
                let tofu = if p.trusted_on_first_use { " (no published sha256: recorded on first use)" } else { "" };
                println!("{:<28} {how}: {}{tofu}", p.model, p.path.display());
            }
            for (model, error) in &report.failed {
                eprintln!("{model}: {error}");
            }
            Ok(if report.is_complete() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}
