//! The sentence template language (Home Assistant's hassil syntax, the parts Hearth needs):
//!
//! - `word`: a literal word, compared after normalisation ("what's" = "whats").
//! - `(a|b c)`: one of the alternatives.
//! - `[the]`, `[a|an]`: optional; same as `(the|)`.
//! - `{list}`: a slot filled from the list `list`; `{list:slot}` names the slot differently.
//! - `<rule>`: the expansion rule `rule`, written once and reused.
//!
//! Parsing gives a tree of [`Node`]s; names are resolved later, when the whole set is compiled.

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Word(String),
    /// Alternatives; the empty sequence among them makes the group optional.
    Alt(Vec<Vec<Node>>),
    Slot { list: String, slot: String },
    Rule(String),
}

/// A problem in one template: where (in characters from the template's start) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub problem: String,
}

/// Parses a whole template.
pub fn parse(template: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut parser = Parser { chars: template.chars().collect(), at: 0 };
    let alternatives = parser.alternatives(None)?;
    let seq = if alternatives.len() == 1 { alternatives.into_iter().next().unwrap_or_default() } else { vec![Node::Alt(alternatives)] };
    if seq.is_empty() {
        return Err(SyntaxError { offset: 0, problem: "the template is empty".into() });
    }
    Ok(seq)
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn error<T>(&self, offset: usize, problem: impl Into<String>) -> Result<T, SyntaxError> {
        Err(SyntaxError { offset, problem: problem.into() })
    }

    /// Sequences separated by `|` up to `close` (or the end when `close` is `None`).
    fn alternatives(&mut self, close: Option<char>) -> Result<Vec<Vec<Node>>, SyntaxError> {
        let open_at = self.at.saturating_sub(1);
        let mut alternatives = vec![Vec::new()];
        let mut literal = String::new();
        loop {
            let Some(&c) = self.chars.get(self.at) else {
                if let Some(close) = close {
                    return self.error(open_at, format!("`{}` is never closed with `{close}`", self.chars[open_at]));
                }
                push_literal(&mut literal, alternatives.last_mut().expect("one"));
                return Ok(alternatives);
            };
            self.at += 1;
            let current = alternatives.last_mut().expect("at least one alternative");
            match c {
                '|' => {
                    push_literal(&mut literal, current);
                    alternatives.push(Vec::new());
                }
                '(' | '[' => {
                    push_literal(&mut literal, current);
                    let closing = if c == '(' { ')' } else { ']' };
                    let mut inner = self.alternatives(Some(closing))?;
                    if inner.iter().all(Vec::is_empty) {
                        return self.error(self.at - 1, format!("`{c}{closing}` has nothing inside"));
                    }
                    if c == '[' {
                        inner.push(Vec::new());
                    }
                    current.push(Node::Alt(inner));
                }
                ')' | ']' => {
                    if close != Some(c) {
                        return self.error(self.at - 1, format!("`{c}` closes nothing"));
                    }
                    push_literal(&mut literal, current);
                    return Ok(alternatives);
                }
                '{' => {
                    push_literal(&mut literal, current);
                    let name = self.name('}')?;
                    let (list, slot) = match name.split_once(':') {
                        Some((l, s)) => (l.trim().to_string(), s.trim().to_string()),
                        None => (name.clone(), name),
                    };
                    if !is_name(&list) || !is_name(&slot) {
                        return self.error(self.at - 1, format!("`{{{list}:{slot}}}` is not a list name (letters, digits, `_`)"));
                    }
                    current.push(Node::Slot { list, slot });
                }
                '<' => {
                    push_literal(&mut literal, current);
                    let name = self.name('>')?;
                    if !is_name(&name) {
                        return self.error(self.at - 1, format!("`<{name}>` is not a rule name (letters, digits, `_`)"));
                    }
                    current.push(Node::Rule(name));
                }
                '}' | '>' => return self.error(self.at - 1, format!("`{c}` closes nothing")),
                _ => literal.push(c),
            }
        }
    }

    /// The text up to `close`, for `{list}` and `<rule>`.
    fn name(&mut self, close: char) -> Result<String, SyntaxError> {
        let start = self.at - 1;
        let mut name = String::new();
        loop {
            match self.chars.get(self.at) {
                None => return self.error(start, format!("`{}` is never closed with `{close}`", self.chars[start])),
                Some(&c) if c == close => {
                    self.at += 1;
                    return Ok(name.trim().to_string());
                }
                Some(&c) => {
                    name.push(c);
                    self.at += 1;
                }
            }
        }
    }
}

fn push_literal(literal: &mut String, seq: &mut Vec<Node>) {
    seq.extend(crate::text::words(literal).into_iter().map(Node::Word));
    literal.clear();
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Node {
        Node::Word(s.into())
    }

    #[test]
    fn parses_alternatives_options_slots_and_rules() {
        let nodes = parse("what's [the] (weather|forecast) in {place:location} <when>").unwrap();
        assert_eq!(
            nodes,
            vec![
                w("whats"),
                Node::Alt(vec![vec![w("the")], vec![]]),
                Node::Alt(vec![vec![w("weather")], vec![w("forecast")]]),
                w("in"),
                Node::Slot { list: "place".into(), slot: "location".into() },
                Node::Rule("when".into()),
            ]
        );
        assert_eq!(parse("stop|be quiet").unwrap(), vec![Node::Alt(vec![vec![w("stop")], vec![w("be"), w("quiet")]])]);
        assert_eq!(parse("{day}").unwrap(), vec![Node::Slot { list: "day".into(), slot: "day".into() }]);
    }

    #[test]
    fn says_what_is_wrong_and_where() {
        let e = parse("what is (the time").unwrap_err();
        assert_eq!((e.offset, e.problem.as_str()), (8, "`(` is never closed with `)`"));
        assert_eq!(parse("stop)").unwrap_err().offset, 4);
        assert!(parse("set {bad name}").unwrap_err().problem.contains("not a list name"));
        assert!(parse("a []").unwrap_err().problem.contains("nothing inside"));
        assert!(parse("  ").unwrap_err().problem.contains("empty"));
        assert!(parse("in {place").unwrap_err().problem.contains("never closed"));
    }
}
