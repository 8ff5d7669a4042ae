//! Chat templates (`tokenizer.chat_template`, Jinja) rendered the way Hugging Face `transformers` renders them,
//! so that a model sees the prompt it was trained on: trim_blocks and lstrip_blocks, `{% break %}` and
//! `{% continue %}`, Python string and dict methods (`.startswith`, `.strip`, `.items()` …, through
//! minijinja-contrib's pycompat), `raise_exception`, `strftime_now`, and a `tojson` that writes what Python's
//! `json.dumps` writes (`", "` and `": "` separators, `indent=`, keys in insertion order, no HTML escaping).
//!
//! `strftime_now` reads a clock frozen when the template is loaded: a prompt prefix that mentions today's date
//! must not change under the cached prefix halfway through a session.

use std::fmt::Write;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, FixedOffset};
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};
use thiserror::Error;

/// A template that cannot be used, with the reason in minijinja's words (line numbers included).
#[derive(Debug, Error)]
pub enum TemplateError {
    #[error("the chat template does not parse: {0}")]
    Syntax(String),
    #[error("the chat template fails to render: {0}")]
    Render(String),
}

/// A loaded chat template.
pub struct ChatTemplate {
    env: Environment<'static>,
}

const NAME: &str = "chat_template";

impl ChatTemplate {
    /// Parses `source`; `now` is what `strftime_now` will report for as long as this template lives.
    pub fn new(source: &str, now: DateTime<FixedOffset>) -> Result<ChatTemplate, TemplateError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", move |format: &str| strftime(&now, format));
        env.add_template_owned(NAME, source.to_string()).map_err(|e| TemplateError::Syntax(describe(&e)))?;
        Ok(ChatTemplate { env })
    }

    /// Renders with `context` (`messages`, `tools`, `add_generation_prompt`, `bos_token` …).
    pub fn render(&self, context: &Value) -> Result<String, TemplateError> {
        let template = self.env.get_template(NAME).map_err(|e| TemplateError::Syntax(describe(&e)))?;
        template.render(context).map_err(|e| TemplateError::Render(describe(&e)))
    }
}

/// minijinja's message plus the template line, which its `Display` leaves out.
fn describe(e: &Error) -> String {
    match e.line() {
        Some(line) => format!("{e} (line {line})"),
        None => e.to_string(),
    }
}

fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

fn strftime(now: &DateTime<FixedOffset>, format: &str) -> Result<String, Error> {
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("strftime_now: bad format {format:?}")));
    }
    let mut out = String::new();
    write!(out, "{}", now.format_with_items(items.into_iter()))
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("strftime_now: cannot format {format:?}")))?;
    Ok(out)
}

/// `tojson` as transformers defines it: `json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
/// sort_keys=sort_keys)`, all keyword arguments optional.
fn tojson(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let separators: Option<Vec<String>> = kwargs.get("separators")?;
    kwargs.assert_all_used()?;
    let (item_sep, key_sep) = match separators.as_deref() {
        Some([item, key]) => (item.clone(), key.clone()),
        Some(_) => return Err(Error::new(ErrorKind::InvalidOperation, "tojson: separators must be a pair")),
        // Python drops the space after commas when indenting (the newline separates items).
        None if indent.is_some() => (",".into(), ": ".into()),
        None => (", ".into(), ": ".into()),
    };
    let style = JsonStyle {
        indent,
        item_sep,
        key_sep,
        ensure_ascii: ensure_ascii.unwrap_or(false),
        sort_keys: sort_keys.unwrap_or(false),
    };
    let mut out = String::new();
    style.write(value, 0, &mut out)?;
    Ok(Value::from_safe_string(out))
}

/// How Python's `json.dumps` lays out a value.
pub struct JsonStyle {
    pub indent: Option<usize>,
    pub item_sep: String,
    pub key_sep: String,
    pub ensure_ascii: bool,
    pub sort_keys: bool,
}

impl JsonStyle {
    /// `json.dumps(value)` with transformers' defaults.
    pub fn python() -> JsonStyle {
        JsonStyle { indent: None, item_sep: ", ".into(), key_sep: ": ".into(), ensure_ascii: false, sort_keys: false }
    }

    pub fn write(&self, value: &Value, depth: usize, out: &mut String) -> Result<(), Error> {
        match value.kind() {
            ValueKind::Undefined | ValueKind::None => out.push_str("null"),
            ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
            ValueKind::Number => out.push_str(&python_number(value)),
            ValueKind::String => self.string(value.as_str().unwrap_or_default(), out),
            ValueKind::Map => {
                let mut keys: Vec<Value> = value.try_iter()?.collect();
                if self.sort_keys {
                    keys.sort();
                }
                let items = keys
                    .into_iter()
                    .map(|k| {
                        let v = value.get_item(&k)?;
                        Ok((k, v))
                    })
                    .collect::<Result<Vec<_>, Error>>()?;
                self.container('{', '}', items.len(), depth, out, |i, out| {
                    let (k, v) = &items[i];
                    match k.as_str() {
                        Some(s) => self.string(s, out),
                        None => self.string(&k.to_string(), out),
                    }
                    out.push_str(&self.key_sep);
                    self.write(v, depth + 1, out)
                })?;
            }
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = value.try_iter()?.collect();
                self.container('[', ']', items.len(), depth, out, |i, out| self.write(&items[i], depth + 1, out))?;
            }
            _ => self.string(&value.to_string(), out),
        }
        Ok(())
    }

    fn container(
        &self,
        open: char,
        close: char,
        len: usize,
        depth: usize,
        out: &mut String,
        mut item: impl FnMut(usize, &mut String) -> Result<(), Error>,
    ) -> Result<(), Error> {
        out.push(open);
        if len == 0 {
            out.push(close);
            return Ok(());
        }
        for i in 0..len {
            if i > 0 {
                out.push_str(&self.item_sep);
            }
            if let Some(n) = self.indent {
                out.push('\n');
                out.push_str(&" ".repeat(n * (depth + 1)));
            }
            item(i, out)?;
        }
        if let Some(n) = self.indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
        out.push(close);
        Ok(())
    }

    /// A JSON string as Python escapes it.
    pub fn string(&self, s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (self.ensure_ascii && (c as u32) > 0x7e) => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        let _ = write!(out, "\\u{unit:04x}");
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// A number as Python's `repr` writes it: integers plainly, floats with a fractional part (`1.0`).
fn python_number(value: &Value) -> String {
    if value.is_integer() {
        return value.to_string();
    }
    let f = f64::try_from(value.clone()).unwrap_or(f64::NAN);
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn render(source: &str, ctx: Value) -> String {
        let now = FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(2026, 3, 5, 9, 30, 0).unwrap();
        ChatTemplate::new(source, now).unwrap().render(&ctx).unwrap()
    }

    #[test]
    fn tojson_writes_what_python_json_dumps_writes() {
        let tool = Value::from_iter([
            ("type", Value::from("function")),
            ("zeta", Value::from_iter([("b", Value::from(1)), ("a", Value::from(1.0))])),
            ("list", Value::from(vec![Value::from("é\n\"x\""), Value::from(true), Value::from(())])),
            ("empty", Value::from_iter(Vec::<(&str, Value)>::new())),
        ]);
        let ctx = Value::from_iter([("t", tool)]);
        assert_eq!(
            render("{{ t | tojson }}", ctx.clone()),
            r#"{"type": "function", "zeta": {"b": 1, "a": 1.0}, "list": ["é\n\"x\"", true, null], "empty": {}}"#
        );
        assert_eq!(
            render("{{ t.zeta | tojson(indent=2) }}|{{ t.list | tojson(indent=4) }}", ctx),
            "{\n  \"b\": 1,\n  \"a\": 1.0\n}|[\n    \"é\\n\\\"x\\\"\",\n    true,\n    null\n]"
        );
    }

    #[test]
    fn python_methods_loop_controls_and_helpers() {
        let ctx = Value::from_iter([("s", Value::from("  <think>x</think>hi ")), ("n", Value::from(3))]);
        let out = render(
            "{%- for i in range(n) %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}{% endfor %}|\
             {{ s.strip().split('</think>')[-1] }}|{{ s.startswith('  <') }}|{{ strftime_now('%d %b %Y') }}",
            ctx,
        );
        // Booleans print as Python prints them (pycompat).
        assert_eq!(out, "02|hi|True|05 Mar 2026");
        let now = FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(2026, 3, 5, 9, 30, 0).unwrap();
        let err = ChatTemplate::new("{{ raise_exception('roles must alternate') }}", now).unwrap().render(&Value::from(())).unwrap_err();
        assert!(err.to_string().contains("roles must alternate"), "{err}");
        let err = ChatTemplate::new("{% if %}", now).err().expect("a syntax error").to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
