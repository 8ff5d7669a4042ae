//! `hearth intents test "…"`, `hearth eval intents` and `hearth bench intents`: try a sentence against the
//! templates (built-in plus the user's), measure precision and recall on the labelled set, time matching.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use hearth_intents::eval::{self, Case};
use hearth_intents::{IntentMatch, Intents, Response};

#[derive(Subcommand)]
pub enum IntentsCommand {
    /// Show what an utterance matches: the intent, its slots and the tool call (exit status 1: no match,
    /// it would go to the language model).
    Test(TestArgs),
}

#[derive(Args)]
pub struct TestArgs {
    /// What was said.
    pub utterance: String,
    /// The utterance before it, to try a follow-up ("what about tomorrow?").
    #[arg(long)]
    pub after: Option<String>,
    #[command(flatten)]
    pub templates: Templates,
}

#[derive(Args)]
pub struct Templates {
    /// Folder of user template files (default: ~/.config/hearth/intents); `none` for the built-in ones only.
    #[arg(long)]
    pub intents_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct EvalArgs {
    /// A labelled set in the same format (default: the one built in, 419 utterances the templates were
    /// tuned on).
    #[arg(long)]
    pub cases: Option<PathBuf>,
    /// Use the built-in held-out set instead (written after tuning, never tuned on).
    #[arg(long, conflicts_with = "cases")]
    pub held_out: bool,
    #[command(flatten)]
    pub templates: Templates,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Times each utterance of the eval set is matched.
    #[arg(long, default_value_t = 200)]
    pub rounds: usize,
    #[command(flatten)]
    pub templates: Templates,
}

impl Templates {
    fn load(&self) -> anyhow::Result<Intents> {
        let dir = match &self.intents_dir {
            Some(d) if d.as_os_str() == "none" => None,
            Some(d) => Some(d.clone()),
            None => Intents::default_user_dir(),
        };
        Intents::load(dir.as_deref()).context("loading intent templates")
    }
}

pub fn run(command: IntentsCommand) -> anyhow::Result<ExitCode> {
    match command {
        IntentsCommand::Test(args) => test(args),
    }
}

fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    let intents = args.templates.load()?;
    let previous = match &args.after {
        Some(before) => {
            let m = intents.recognize(before);
            match &m {
                Some(m) => println!("after:   {} ({})", m.intent, m.slots_line()),
                None => println!("after:   no match, so no follow-up is possible"),
            }
            m
        }
        None => None,
    };
    match intents.recognize_in_context(&args.utterance, previous.as_ref()) {
        Some(m) => {
            print_match(&m);
            Ok(ExitCode::SUCCESS)
        }
        None => {
            println!("no match: this goes to the language model unchanged");
            Ok(ExitCode::from(1))
        }
    }
}

fn print_match(m: &IntentMatch) {
    println!("intent:  {}", m.intent);
    println!("slots:   {}", if m.slots.is_empty() { "(none)".to_string() } else { m.slots_line() });
    match &m.response {
        Response::Tool(_) => {
            for call in m.tool_calls() {
                println!("tool:    {} {}", call.tool, call.arguments);
            }
        }
        Response::Speech(s) => println!("says:    {s}"),
        Response::Action(a) => println!("action:  {a} (done by the brain)"),
    }
}

fn cases(path: Option<&PathBuf>, held_out: bool) -> anyhow::Result<Vec<Case>> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        None if held_out => eval::HELD_OUT.to_string(),
        None => eval::EVAL_SET.to_string(),
    };
    Ok(eval::parse_cases(&text)?)
}

pub fn eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let intents = args.templates.load()?;
    let cases = cases(args.cases.as_ref(), args.held_out)?;
    let report = eval::run(&intents, &cases);
    for f in &report.failures {
        let got = match &f.got {
            Some(m) => format!("{} ({})", m.intent, m.slots_line()),
            None => "no match".into(),
        };
        let wanted = match &f.case.expected {
            Some(e) => format!("{} ({})", e.intent, e.slots.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")),
            None => "the language model".into(),
        };
        let said = match &f.case.previous {
            Some(p) => format!("{p:?} >> {:?}", f.case.text),
            None => format!("{:?}", f.case.text),
        };
        println!("{:<11} line {:>3}: {said}\n              wanted {wanted}, got {got}", f.kind(), f.case.line);
    }
    println!(
        "{} utterances ({} to match, {} for the language model), {} templates",
        cases.len(),
        report.positives,
        report.negatives,
        intents.template_count()
    );
    println!("precision {:.1} % (target ≥ 98 %), recall {:.1} % (target ≥ 90 %)", report.precision() * 100.0, report.recall() * 100.0);
    let met = report.precision() >= 0.98 && report.recall() >= 0.90;
    Ok(if met { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let intents = args.templates.load()?;
    let compile = start.elapsed();
    let cases = cases(None, false)?;
    let t = eval::time(&intents, &cases, args.rounds, compile);
    let profile = if cfg!(debug_assertions) { "debug build: expect several times slower than release" } else { "release build" };
    println!("{} templates compiled in {:.2} ms ({profile})", intents.template_count(), t.compile.as_secs_f64() * 1e3);
    println!(
        "matching, {} utterances × {} rounds: mean {:.1} µs, p99 {:.1} µs, max {:.1} µs per utterance (goal < 1000 µs)",
        t.utterances,
        args.rounds,
        t.mean.as_secs_f64() * 1e6,
        t.p99.as_secs_f64() * 1e6,
        t.max.as_secs_f64() * 1e6
    );
    Ok(ExitCode::SUCCESS)
}
