//! Template files: their TOML shape, and how the built-in file and the user's files merge into one
//! [`Catalog`] (see `architecture.md` for the format as a user sees it).
//!
//! Merging, file by file in order (built-in first, then the user's files sorted by name):
//! - `skip_words` are added;
//! - a `[rules]` entry or a `[lists.NAME]` table replaces the one of the same name;
//! - an `[intents.NAME]` table adds its sentences and follow-ups to the intent of that name; a response
//!   (`tool`, `speech`, `action`) or `priority` given replaces the earlier one; `replace = true` drops the
//!   earlier sentences first; `disabled = true` removes the intent.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{IntentsError, Origin};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    skip_words: Vec<String>,
    #[serde(default)]
    rules: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    lists: BTreeMap<String, Spanned<ListDef>>,
    #[serde(default)]
    intents: BTreeMap<String, Spanned<IntentDef>>,
}

/// A `[lists.NAME]` table: exactly one of its kinds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListDef {
    /// Fixed phrases, each a template without slots, with the value it gives.
    pub values: Option<Vec<ValueDef>>,
    /// Whole numbers, in digits or words.
    pub range: Option<RangeDef>,
    /// Free text, given back as written.
    pub wildcard: Option<WildcardDef>,
    /// A length of time ("ten minutes", "an hour and a half"), given as whole seconds.
    pub duration: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ValueDef {
    /// The phrase is its own value.
    Plain(String),
    Mapped {
        #[serde(rename = "in")]
        phrase: String,
        out: toml::Value,
    },
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeDef {
    pub from: i64,
    pub to: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WildcardDef {
    /// The longest text taken, in words.
    #[serde(default = "default_max_words")]
    pub max_words: usize,
    /// Words the text may not contain (what would make it a different request).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Whether the text may contain numbers (digits or number words).
    #[serde(default = "yes")]
    pub numbers: bool,
}

fn default_max_words() -> usize {
    6
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentDef {
    tool: Option<String>,
    speech: Option<String>,
    action: Option<String>,
    priority: Option<i32>,
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    sentences: Vec<Spanned<String>>,
    #[serde(default)]
    data: Vec<DataDef>,
    #[serde(default)]
    follow_up: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DataDef {
    sentences: Vec<Spanned<String>>,
    #[serde(default)]
    slots: BTreeMap<String, toml::Value>,
}

/// Something with the place it was written.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub value: T,
    pub origin: Origin,
}

/// What a matched intent does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseDef {
    Tool(String),
    Speech(String),
    Action(String),
}

/// Sentences that share fixed slot values.
#[derive(Debug, Clone)]
pub struct Group {
    pub sentences: Vec<Located<String>>,
    pub slots: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct IntentEntry {
    pub origin: Origin,
    pub response: Option<Located<ResponseDef>>,
    pub priority: i32,
    pub groups: Vec<Group>,
    pub follow_up: Vec<Located<String>>,
}

/// Every file merged.
#[derive(Debug, Default)]
pub struct Catalog {
    pub skip_words: Vec<String>,
    pub rules: BTreeMap<String, Located<String>>,
    pub lists: BTreeMap<String, Located<ListDef>>,
    pub intents: BTreeMap<String, IntentEntry>,
}

impl Catalog {
    /// Reads one file's text (named `file` in errors) and merges it in.
    pub fn add_file(&mut self, file: &str, source: &str) -> Result<(), IntentsError> {
        let file: Arc<str> = Arc::from(file);
        let at = |offset: usize| Origin::at(&file, source, offset);
        let def: FileDef = toml::from_str(source).map_err(|e| IntentsError::Format {
            origin: at(e.span().map_or(0, |s| s.start)),
            problem: e.message().to_string(),
        })?;
        let located = |s: Spanned<String>| Located { origin: at(s.span().start), value: s.into_inner() };
        self.skip_words.extend(def.skip_words);
        for (name, rule) in def.rules {
            self.rules.insert(name, located(rule));
        }
        for (name, list) in def.lists {
            self.lists.insert(name, Located { origin: at(list.span().start), value: list.into_inner() });
        }
        for (name, spanned) in def.intents {
            let origin = at(spanned.span().start);
            let def = spanned.into_inner();
            if def.disabled {
                self.intents.remove(&name);
                continue;
            }
            let response = response(&def, &origin)?;
            let entry = self.intents.entry(name).or_insert_with(|| IntentEntry {
                origin: origin.clone(),
                response: None,
                priority: 0,
                groups: Vec::new(),
                follow_up: Vec::new(),
            });
            if def.replace {
                entry.groups.clear();
                entry.follow_up.clear();
            }
            if let Some(r) = response {
                entry.response = Some(r);
            }
            if let Some(p) = def.priority {
                entry.priority = p;
            }
            if !def.sentences.is_empty() {
                entry.groups.push(Group { sentences: def.sentences.into_iter().map(located).collect(), slots: BTreeMap::new() });
            }
            for data in def.data {
                let slots = data
                    .slots
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::to_value(v).unwrap_or(serde_json::Value::Null)))
                    .collect();
                entry.groups.push(Group { sentences: data.sentences.into_iter().map(located).collect(), slots });
            }
            entry.follow_up.extend(def.follow_up.into_iter().map(located));
        }
        Ok(())
    }
}

fn response(def: &IntentDef, origin: &Origin) -> Result<Option<Located<ResponseDef>>, IntentsError> {
    let given: Vec<ResponseDef> = [
        def.tool.clone().map(ResponseDef::Tool),
        def.speech.clone().map(ResponseDef::Speech),
        def.action.clone().map(ResponseDef::Action),
    ]
    .into_iter()
    .flatten()
    .collect();
    match given.len() {
        0 => Ok(None),
        1 => Ok(given.into_iter().next().map(|value| Located { value, origin: origin.clone() })),
        _ => Err(IntentsError::Format {
            origin: origin.clone(),
            problem: "an intent has one response: `tool`, `speech` or `action`, not several".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_user_files_over_the_built_in_one() {
        let mut c = Catalog::default();
        c.add_file("builtin", "[intents.a]\ntool = \"t\"\nsentences = [\"one\"]\n[intents.b]\nspeech = \"hi\"\nsentences = [\"hi\"]\n")
            .unwrap();
        c.add_file("user.toml", "[intents.a]\nsentences = [\"two\"]\n[intents.b]\ndisabled = true\n").unwrap();
        let a = &c.intents["a"];
        assert_eq!(a.groups.len(), 2);
        assert_eq!(a.response.as_ref().unwrap().value, ResponseDef::Tool("t".into()));
        assert_eq!(a.groups[1].sentences[0].origin.to_string(), "user.toml:2:14");
        assert!(!c.intents.contains_key("b"));
        c.add_file("more.toml", "[intents.a]\nreplace = true\nsentences = [\"three\"]\n").unwrap();
        assert_eq!(c.intents["a"].groups.len(), 1);
    }

    #[test]
    fn bad_toml_names_file_line_and_problem() {
        let mut c = Catalog::default();
        let e = c.add_file("x.toml", "[intents.a]\ntool = \"t\"\nsentence = [\"one\"]\n").unwrap_err().to_string();
        assert!(e.starts_with("x.toml:3:1: unknown field `sentence`"), "{e}");
        let e = c.add_file("y.toml", "[intents.a]\ntool = \"t\"\nspeech = \"s\"\n").unwrap_err().to_string();
        assert!(e.starts_with("y.toml:1:") && e.contains("one response"), "{e}");
    }
}
