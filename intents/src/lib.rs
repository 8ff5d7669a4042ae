//! Hearth's local intents as data: sentence templates (Home Assistant's hassil idea: alternatives,
//! optional words, slots filled from lists, ranges, durations and free-text wildcards) compiled at start
//! into a matcher that answers in microseconds, before any language model. The built-in templates
//! ship inside the binary (`intents.toml`); users add or override sentences with TOML files in
//! `~/.config/hearth/intents/` without rebuilding. A malformed file stops the start with its file, line
//! and problem. Anything not matched is `None`: it goes to the language model unchanged.
//!
//! ```
//! let intents = hearth_intents::Intents::builtin().unwrap();
//! let m = intents.recognize("what's the weather in Paris tomorrow?").unwrap();
//! assert_eq!(m.intent, "weather");
//! let calls = m.tool_calls();
//! assert_eq!(calls[0].tool, "get_weather");
//! assert_eq!(calls[0].arguments, serde_json::json!({"location": "Paris", "day": "tomorrow"}));
//! let next = intents.follow_up(&m, "and in London?").unwrap();
//! assert_eq!(next.slots["location"], "London");
//! assert!(intents.recognize("I'm under the weather").is_none());
//! ```
//!
//! The format is described in `architecture.md` beside this crate's `Cargo.toml`.
//!
//! # Layout
//! - [`text`]: normalising and tokenising utterances.
//! - [`template`]: the template syntax and its parser.
//! - `file`: the TOML file format and how files merge.
//! - `compile`: rules inlined, lists resolved, anchor words found.
//! - `slots`: filling one slot (values, ranges, durations, wildcards).
//! - `matcher`: the backtracking matcher that picks the best template.
//! - [`matched`]: [`IntentMatch`] and the tool calls it stands for.
//! - [`eval`]: the labelled utterances behind `hearth eval intents` and `hearth bench intents`.
//! - [`error`]: start-up errors that name file, line and problem.

mod compile;
pub mod error;
pub mod eval;
mod file;
pub mod matched;
mod matcher;
mod slots;
pub mod template;
#[cfg(test)]
mod tests;
pub mod text;

use std::path::{Path, PathBuf};

pub use error::{IntentsError, Origin};
pub use matched::{IntentMatch, Response, ToolInvocation};

/// The built-in templates, compiled into the binary.
pub const BUILTIN: &str = include_str!("../intents.toml");
/// How the built-in file is named in errors.
pub const BUILTIN_NAME: &str = "<built-in intents.toml>";

/// The compiled templates.
#[derive(Debug)]
pub struct Intents {
    compiled: compile::Compiled,
}

impl Intents {
    /// The built-in templates alone.
    pub fn builtin() -> Result<Intents, IntentsError> {
        Intents::from_sources(&[(BUILTIN_NAME.to_string(), BUILTIN.to_string())])
    }

    /// The built-in templates, then every `*.toml` file in `user_dir` in name order (a missing folder is
    /// no error: most users have none).
    pub fn load(user_dir: Option<&Path>) -> Result<Intents, IntentsError> {
        let mut sources = vec![(BUILTIN_NAME.to_string(), BUILTIN.to_string())];
        if let Some(dir) = user_dir {
            for path in user_files(dir)? {
                let text = std::fs::read_to_string(&path).map_err(|source| IntentsError::Read { path: path.clone(), source })?;
                sources.push((path.display().to_string(), text));
            }
        }
        Intents::from_sources(&sources)
    }

    /// Files given as (name for errors, text), merged in order.
    pub fn from_sources(sources: &[(String, String)]) -> Result<Intents, IntentsError> {
        let mut catalog = file::Catalog::default();
        for (name, text) in sources {
            catalog.add_file(name, text)?;
        }
        let compiled = compile::compile(&catalog)?;
        tracing::debug!(intents = compiled.intents.len(), templates = compiled.templates.len(), "intents compiled");
        Ok(Intents { compiled })
    }

    /// `$XDG_CONFIG_HOME/hearth/intents`, else `~/.config/hearth/intents`.
    pub fn default_user_dir() -> Option<PathBuf> {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(config.join("hearth").join("intents"))
    }

    /// The intent `text` asks for, or `None` for the language model.
    pub fn recognize(&self, text: &str) -> Option<IntentMatch> {
        let tokens = self.tokens(text);
        let u = matcher::Utterance::new(&tokens, text);
        let found = matcher::best(&self.compiled.templates, &self.compiled.lists, &u)?;
        let template = &self.compiled.templates[found.template];
        let intent = &self.compiled.intents[template.intent];
        let mut slots: std::collections::BTreeMap<String, serde_json::Value> = (*template.fixed).clone();
        slots.extend(found.slots.into_iter().map(|(k, v)| (k.to_string(), v)));
        Some(IntentMatch::new(intent, slots, text))
    }

    /// A follow-up to `previous` ("what about tomorrow?", "and in London?"): the previous intent with the
    /// new slots over the old ones, or `None` when `text` is not a follow-up of that intent.
    pub fn follow_up(&self, previous: &IntentMatch, text: &str) -> Option<IntentMatch> {
        let intent = self.compiled.intents.iter().find(|i| *i.name == previous.intent)?;
        let tokens = self.tokens(text);
        let u = matcher::Utterance::new(&tokens, text);
        let found = matcher::best(&intent.follow_ups, &self.compiled.lists, &u)?;
        let mut slots = previous.slots.clone();
        slots.extend(found.slots.into_iter().map(|(k, v)| (k.to_string(), v)));
        Some(IntentMatch::new(intent, slots, text))
    }

    /// What the brain calls for each transcript: a full match first, else a follow-up of the previous
    /// match (when there is one and it is recent enough, which the brain decides).
    pub fn recognize_in_context(&self, text: &str, previous: Option<&IntentMatch>) -> Option<IntentMatch> {
        self.recognize(text).or_else(|| previous.and_then(|p| self.follow_up(p, text)))
    }

    /// Intent names, in match order.
    pub fn intent_names(&self) -> Vec<&str> {
        self.compiled.intents.iter().map(|i| &*i.name).collect()
    }

    /// How many sentence templates (follow-ups included) are compiled.
    pub fn template_count(&self) -> usize {
        self.compiled.templates.len() + self.compiled.intents.iter().map(|i| i.follow_ups.len()).sum::<usize>()
    }

    /// The utterance's tokens with skip words ("please", "hey", "can you") taken off both ends.
    fn tokens(&self, text: &str) -> Vec<text::Token> {
        let mut tokens = text::tokenize(text);
        let starts_with = |t: &[text::Token], p: &[String]| t.len() >= p.len() && t.iter().zip(p).all(|(a, b)| a.word == *b);
        let mut changed = true;
        while changed {
            changed = false;
            for phrase in &self.compiled.skip_phrases {
                if starts_with(&tokens, phrase) {
                    tokens.drain(..phrase.len());
                    changed = true;
                }
                let n = tokens.len();
                if n >= phrase.len() && starts_with(&tokens[n - phrase.len()..], phrase) {
                    tokens.truncate(n - phrase.len());
                    changed = true;
                }
            }
        }
        tokens
    }
}

fn user_files(dir: &Path) -> Result<Vec<PathBuf>, IntentsError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(IntentsError::Read { path: dir.to_path_buf(), source }),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| IntentsError::Read { path: dir.to_path_buf(), source })?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
