//! Matching an utterance against compiled templates: a backtracking walk over each template's tree
//! (alternatives and slots may match in several ways), keeping the match that leaves the fewest words
//! to wildcards, so "weather in Paris tomorrow" fills `{day}` rather than a place called "Paris
//! tomorrow". Among equally good matches the earlier template wins (higher priority, then intent name,
//! then file order). Templates missing one of their anchor words are skipped without a walk.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use crate::compile::{Expr, ListKind, Template};
use crate::slots::{self, Fill};
use crate::text::Token;

/// Filled slots, in template order.
pub(crate) type Slots = Vec<(Arc<str>, Value)>;

/// The best match: which template, and the slots it filled.
#[derive(Debug)]
pub(crate) struct Found {
    pub template: usize,
    pub wild: usize,
    pub slots: Slots,
}

/// One utterance, prepared once for all templates.
pub(crate) struct Utterance<'a> {
    pub tokens: &'a [Token],
    pub words: Vec<&'a str>,
    pub text: &'a str,
    present: HashSet<&'a str>,
}

impl<'a> Utterance<'a> {
    pub fn new(tokens: &'a [Token], text: &'a str) -> Utterance<'a> {
        let words: Vec<&str> = tokens.iter().map(|t| t.word.as_str()).collect();
        let present = words.iter().copied().collect();
        Utterance { tokens, words, text, present }
    }
}

/// A template whose walk takes more steps than this is abandoned (a guard against pathological
/// user templates; the built-in ones need a few hundred at most).
const MAX_STEPS: usize = 50_000;

pub(crate) fn best(templates: &[Template], lists: &[ListKind], u: &Utterance) -> Option<Found> {
    if u.words.is_empty() {
        return None;
    }
    let mut best: Option<Found> = None;
    for (index, template) in templates.iter().enumerate() {
        if !template.anchors.iter().all(|a| u.present.contains(&**a)) {
            continue;
        }
        let limit = best.as_ref().map_or(usize::MAX, |b| b.wild);
        let mut search = Search { lists, u, caps: Vec::new(), wild: 0, limit, found: None, steps: 0 };
        search.seq(&template.seq, &Cont::End, 0);
        if let Some((wild, slots)) = search.found {
            best = Some(Found { template: index, wild, slots });
            if wild == 0 {
                break;
            }
        }
    }
    best
}

/// What is left to match after the current sequence.
enum Cont<'a> {
    End,
    Then(&'a [Expr], &'a Cont<'a>),
}

struct Search<'a, 'u> {
    lists: &'a [ListKind],
    u: &'a Utterance<'u>,
    caps: Slots,
    wild: usize,
    /// A match must leave fewer wildcard words than this to count.
    limit: usize,
    found: Option<(usize, Slots)>,
    steps: usize,
}

impl Search<'_, '_> {
    fn seq(&mut self, items: &[Expr], k: &Cont, pos: usize) {
        self.steps += 1;
        if self.steps > MAX_STEPS || self.wild >= self.limit {
            return;
        }
        let Some((first, rest)) = items.split_first() else {
            match k {
                Cont::End if pos == self.u.words.len() => {
                    self.limit = self.wild;
                    self.found = Some((self.wild, self.caps.clone()));
                }
                Cont::End => {}
                Cont::Then(items, k) => self.seq(items, k, pos),
            }
            return;
        };
        match first {
            Expr::Word(w) => {
                if self.u.words.get(pos) == Some(&&**w) {
                    self.seq(rest, k, pos + 1);
                }
            }
            Expr::Alt(alts) => {
                let k = Cont::Then(rest, k);
                for alt in alts {
                    self.seq(alt, &k, pos);
                }
            }
            Expr::Slot { list, slot } => {
                if pos >= self.u.words.len() {
                    return;
                }
                let mut fills: Vec<Fill> = Vec::new();
                slots::fills(&self.lists[*list], self.u.tokens, &self.u.words, self.u.text, pos, &mut fills);
                for fill in fills {
                    self.caps.push((slot.clone(), fill.value));
                    self.wild += fill.wild;
                    self.seq(rest, k, fill.end);
                    self.wild -= fill.wild;
                    self.caps.pop();
                }
            }
        }
    }
}
