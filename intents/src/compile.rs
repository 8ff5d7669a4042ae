//! Compiling a [`Catalog`] once at start: templates parsed, rules inlined, lists resolved to indices and
//! value phrases expanded, and each template's anchor words (words every match must contain) found,
//! so matching skips most templates with a set lookup.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::error::{IntentsError, Origin};
use crate::file::{Catalog, ListDef, Located, ResponseDef, ValueDef};
use crate::template::{self, Node};

/// A compiled template piece.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Word(Box<str>),
    Alt(Vec<Vec<Expr>>),
    Slot { list: usize, slot: Arc<str> },
}

#[derive(Debug, Clone)]
pub(crate) enum ListKind {
    /// Word sequences and the value each gives.
    Values(Vec<(Vec<String>, Value)>),
    Range { from: i64, to: i64 },
    Wildcard { max_words: usize, exclude: HashSet<String>, numbers: bool },
    Duration,
}

/// One sentence of an intent, ready to match.
#[derive(Debug)]
pub(crate) struct Template {
    pub intent: usize,
    pub seq: Vec<Expr>,
    pub fixed: Arc<BTreeMap<String, Value>>,
    pub anchors: Vec<Box<str>>,
}

#[derive(Debug)]
pub(crate) struct IntentInfo {
    pub name: Arc<str>,
    pub response: ResponseDef,
    pub follow_ups: Vec<Template>,
}

/// Everything the matcher needs.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub intents: Vec<IntentInfo>,
    /// In match order: higher priority first, then intent name.
    pub templates: Vec<Template>,
    pub lists: Vec<ListKind>,
    pub skip_phrases: Vec<Vec<String>>,
}

/// Value phrases of one list are expanded into plain word sequences; past this many the list is refused.
const MAX_VALUE_PHRASES: usize = 5_000;

pub(crate) fn compile(catalog: &Catalog) -> Result<Compiled, IntentsError> {
    let list_index: HashMap<&str, usize> = catalog.lists.keys().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let lists = catalog.lists.values().map(compile_list).collect::<Result<Vec<_>, _>>()?;
    let mut resolver = Resolver { catalog, list_index, rules: HashMap::new(), resolving: Vec::new() };
    for name in catalog.rules.keys() {
        resolver.rule(name, None)?;
    }
    let mut order: Vec<(&String, &crate::file::IntentEntry)> = catalog.intents.iter().collect();
    // Stable: equal priorities keep the catalog's name order.
    order.sort_by_key(|(_, e)| -e.priority);
    let mut intents = Vec::new();
    let mut templates = Vec::new();
    for (index, (name, entry)) in order.into_iter().enumerate() {
        let Some(response) = &entry.response else {
            return Err(IntentsError::Template {
                origin: entry.origin.clone(),
                problem: format!("intent `{name}` has no response: give it `tool`, `speech` or `action`"),
            });
        };
        if entry.groups.iter().all(|g| g.sentences.is_empty()) {
            return Err(IntentsError::Template {
                origin: entry.origin.clone(),
                problem: format!("intent `{name}` has no sentences"),
            });
        }
        for group in &entry.groups {
            let fixed = Arc::new(group.slots.clone());
            for sentence in &group.sentences {
                templates.push(resolver.template(index, sentence, fixed.clone())?);
            }
        }
        let none = Arc::new(BTreeMap::new());
        let follow_ups = entry.follow_up.iter().map(|s| resolver.template(index, s, none.clone())).collect::<Result<_, _>>()?;
        intents.push(IntentInfo { name: Arc::from(name.as_str()), response: response.value.clone(), follow_ups });
    }
    let skip_phrases = catalog.skip_words.iter().map(|s| crate::text::words(s)).filter(|w| !w.is_empty()).collect();
    Ok(Compiled { intents, templates, lists, skip_phrases })
}

fn compile_list(list: &Located<ListDef>) -> Result<ListKind, IntentsError> {
    let err = |problem: String| IntentsError::Template { origin: list.origin.clone(), problem };
    let def = &list.value;
    let kinds = [def.values.is_some(), def.range.is_some(), def.wildcard.is_some(), def.duration.is_some()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(err("a list has exactly one of `values`, `range`, `wildcard` or `duration`".into()));
    }
    if let Some(values) = &def.values {
        let mut out = Vec::new();
        for v in values {
            let (phrase, value) = match v {
                ValueDef::Plain(p) => (p.as_str(), Value::String(p.clone())),
                ValueDef::Mapped { phrase, out } => (phrase.as_str(), serde_json::to_value(out).unwrap_or(Value::Null)),
            };
            let nodes = template::parse(phrase).map_err(|e| err(format!("value `{phrase}`: {}", e.problem)))?;
            for words in expand(&nodes).map_err(|p| err(format!("value `{phrase}`: {p}")))? {
                if words.is_empty() {
                    return Err(err(format!("value `{phrase}` can match nothing at all")));
                }
                out.push((words, value.clone()));
            }
            if out.len() > MAX_VALUE_PHRASES {
                return Err(err(format!("the list expands to more than {MAX_VALUE_PHRASES} phrases")));
            }
        }
        // Longer phrases first, so "tomorrow morning" is tried before "tomorrow".
        out.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        return Ok(ListKind::Values(out));
    }
    if let Some(r) = def.range {
        if r.from > r.to {
            return Err(err(format!("range from {} is above to {}", r.from, r.to)));
        }
        return Ok(ListKind::Range { from: r.from, to: r.to });
    }
    if let Some(w) = &def.wildcard {
        if w.max_words == 0 {
            return Err(err("wildcard max_words must be at least 1".into()));
        }
        let exclude = w.exclude.iter().flat_map(|x| crate::text::words(x)).collect();
        return Ok(ListKind::Wildcard { max_words: w.max_words, exclude, numbers: w.numbers });
    }
    match def.duration {
        Some(true) => Ok(ListKind::Duration),
        _ => Err(err("`duration = false` is not a list; leave the list out".into())),
    }
}

/// Every word sequence a slot-free template stands for.
fn expand(nodes: &[Node]) -> Result<Vec<Vec<String>>, String> {
    let mut out = vec![Vec::new()];
    for node in nodes {
        match node {
            Node::Word(w) => out.iter_mut().for_each(|s| s.push(w.clone())),
            Node::Alt(alts) => {
                let mut next = Vec::new();
                for alt in alts {
                    for tail in expand(alt)? {
                        next.extend(out.iter().map(|head| head.iter().chain(&tail).cloned().collect::<Vec<_>>()));
                    }
                }
                if next.len() > MAX_VALUE_PHRASES {
                    return Err(format!("expands to more than {MAX_VALUE_PHRASES} phrases"));
                }
                out = next;
            }
            Node::Slot { list, .. } => return Err(format!("a list value cannot contain a slot ({{{list}}})")),
            Node::Rule(rule) => return Err(format!("a list value cannot use a rule (<{rule}>)")),
        }
    }
    Ok(out)
}

struct Resolver<'a> {
    catalog: &'a Catalog,
    list_index: HashMap<&'a str, usize>,
    rules: HashMap<String, Vec<Expr>>,
    /// Rules being resolved, to refuse a rule that uses itself.
    resolving: Vec<String>,
}

impl Resolver<'_> {
    fn template(&mut self, intent: usize, sentence: &Located<String>, fixed: Arc<BTreeMap<String, Value>>) -> Result<Template, IntentsError> {
        let seq = self.text(&sentence.value, &sentence.origin)?;
        let anchors = anchors(&seq).into_iter().map(Box::from).collect();
        Ok(Template { intent, seq, fixed, anchors })
    }

    /// Parses and resolves template text written at `origin` (the opening quote of its string).
    fn text(&mut self, text: &str, origin: &Origin) -> Result<Vec<Expr>, IntentsError> {
        let nodes = template::parse(text)
            .map_err(|e| IntentsError::Template { origin: origin.shifted(e.offset + 1), problem: e.problem })?;
        self.nodes(&nodes, text, origin)
    }

    fn nodes(&mut self, nodes: &[Node], text: &str, origin: &Origin) -> Result<Vec<Expr>, IntentsError> {
        let at = |needle: String| origin.shifted(text.find(&needle).map_or(0, |i| text[..i].chars().count()) + 1);
        let mut out = Vec::with_capacity(nodes.len());
        for node in nodes {
            match node {
                Node::Word(w) => out.push(Expr::Word(w.as_str().into())),
                Node::Alt(alts) => {
                    let alts = alts.iter().map(|a| self.nodes(a, text, origin)).collect::<Result<_, _>>()?;
                    out.push(Expr::Alt(alts));
                }
                Node::Slot { list, slot } => {
                    let Some(&index) = self.list_index.get(list.as_str()) else {
                        return Err(IntentsError::Template {
                            origin: at(format!("{{{list}")),
                            problem: format!("unknown list {{{list}}}: define it under [lists.{list}]"),
                        });
                    };
                    out.push(Expr::Slot { list: index, slot: Arc::from(slot.as_str()) });
                }
                Node::Rule(name) => {
                    let expr = self.rule(name, Some(at(format!("<{name}"))))?;
                    out.push(Expr::Alt(vec![expr]));
                }
            }
        }
        Ok(out)
    }

    /// A rule resolved (once); `used_at` is where it is referenced, for the error when it does not exist.
    fn rule(&mut self, name: &str, used_at: Option<Origin>) -> Result<Vec<Expr>, IntentsError> {
        if let Some(done) = self.rules.get(name) {
            return Ok(done.clone());
        }
        let catalog = self.catalog;
        let Some(rule) = catalog.rules.get(name) else {
            return Err(IntentsError::Template {
                origin: used_at.unwrap_or_else(|| Origin { file: Arc::from("?"), line: 0, column: 0 }),
                problem: format!("unknown rule <{name}>: define it under [rules]"),
            });
        };
        if self.resolving.iter().any(|r| r == name) {
            return Err(IntentsError::Template {
                origin: rule.origin.clone(),
                problem: format!("rule <{name}> uses itself ({} → {name})", self.resolving.join(" → ")),
            });
        }
        self.resolving.push(name.to_string());
        let resolved = self.text(&rule.value, &rule.origin);
        self.resolving.pop();
        let resolved = resolved?;
        self.rules.insert(name.to_string(), resolved.clone());
        Ok(resolved)
    }
}

/// Words that every match of `seq` contains.
fn anchors(seq: &[Expr]) -> HashSet<String> {
    let mut out = HashSet::new();
    for e in seq {
        match e {
            Expr::Word(w) => {
                out.insert(w.to_string());
            }
            Expr::Alt(alts) => {
                let mut sets = alts.iter().map(|a| anchors(a));
                if let Some(first) = sets.next() {
                    out.extend(sets.fold(first, |acc, s| acc.intersection(&s).cloned().collect()));
                }
            }
            Expr::Slot { .. } => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(source: &str) -> Result<Compiled, IntentsError> {
        let mut c = Catalog::default();
        c.add_file("t.toml", source)?;
        compile(&c)
    }

    #[test]
    fn anchors_are_words_every_match_needs() {
        let c = compiled("[rules]\nwhat = \"(what is|whats)\"\n[intents.a]\ntool = \"t\"\nsentences = [\"<what> [the] time (now|today)\"]\n")
            .unwrap();
        let mut a: Vec<&str> = c.templates[0].anchors.iter().map(|b| &**b).collect();
        a.sort();
        assert_eq!(a, ["time"]);
    }

    #[test]
    fn names_the_place_of_each_problem() {
        let e = compiled("[intents.a]\ntool = \"t\"\nsentences = [\"set {dish} now\"]\n").unwrap_err().to_string();
        assert_eq!(e, "t.toml:3:19: unknown list {dish}: define it under [lists.dish]");
        let e = compiled("[intents.a]\ntool = \"t\"\nsentences = [\"ok\", \"what (is\"]\n").unwrap_err().to_string();
        assert_eq!(e, "t.toml:3:26: `(` is never closed with `)`");
        let e = compiled("[rules]\nr = \"x <r>\"\n[intents.a]\ntool = \"t\"\nsentences = [\"<r>\"]\n").unwrap_err().to_string();
        assert!(e.starts_with("t.toml:2:5: rule <r> uses itself"), "{e}");
        let e = compiled("[intents.a]\nsentences = [\"hi\"]\n").unwrap_err().to_string();
        assert!(e.starts_with("t.toml:1:1: intent `a` has no response"), "{e}");
        let e = compiled("[lists.x]\nrange = { from = 5, to = 1 }\n").unwrap_err().to_string();
        // A table is placed at its header.
        assert!(e.starts_with("t.toml:1:1: range from 5"), "{e}");
        let e = compiled("[lists.x]\nduration = true\nrange = { from = 1, to = 5 }\n").unwrap_err().to_string();
        assert!(e.contains("exactly one"), "{e}");
    }

    #[test]
    fn value_phrases_expand() {
        let c = compiled("[lists.day]\nvalues = [{ in = \"tomorrow [morning]\", out = \"tomorrow\" }, \"today\"]\n").unwrap();
        let ListKind::Values(v) = &c.lists[0] else { panic!() };
        assert_eq!(v[0].0, ["tomorrow", "morning"]);
        assert_eq!(v.len(), 3);
    }
}
