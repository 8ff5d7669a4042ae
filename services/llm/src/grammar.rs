//! The GBNF grammar that constrains every reply to either one well-formed call of a known tool, with
//! arguments that match the tool's JSON schema (types, enums, required keys), or plain spoken text; and the
//! parser that turns a finished call back into a tool name and arguments.
//!
//! The call syntax is the model family's ([`ToolFormat`]), e.g. Qwen3's (Hermes-style)
//! `<tool_call>\n{"name": "…", "arguments": {…}}\n</tool_call>` or Llama 3's `{"name": "…", "parameters": {…}}`.
//! Small objects accept their keys in any order, optional ones may be left out; a plain answer cannot start
//! with `<`, `{`, `[` or whitespace, so the first character decides which of the two the model is writing.
//! With no tools the grammar is the answer alone.

use std::fmt::Write;

use hearth_bus::tool::ToolSpec;
use serde_json::Value;

use crate::tool_format::ToolFormat;
/// Longest string argument, characters: bounds a call's length so it ends within the token limit.
const MAX_STRING_CHARS: usize = 80;

/// The grammar for calls of `tools` written in `format`; its root rule is `root`.
pub fn grammar(format: ToolFormat, tools: &[ToolSpec]) -> String {
    let mut g = String::new();
    g.push_str(if tools.is_empty() { "root ::= think? answer\n" } else { "root ::= think? (call | answer)\n" });
    g.push_str("think ::= \"<think>\" think-char* \"</think>\" [ \\n]*\n");
    g.push_str("think-char ::= [^<] | \"<\" [^/]\n");
    g.push_str("answer ::= [^<{[\\x00-\\x20] answer-char*\n");
    g.push_str("answer-char ::= [^\\x00-\\x08\\x0B-\\x1F\\x7F]\n");
    if tools.is_empty() {
        return g;
    }
    let (open, close) = format.wrapper();
    let alternatives: Vec<String> = tools.iter().map(|t| format!("call-{}", rule_name(t.name))).collect();
    let _ = writeln!(
        g,
        "call ::= {} ({}) {}",
        gbnf_literal(&format!("{open}{{\"name\": \"")),
        alternatives.join(" | "),
        gbnf_literal(&format!("}}{close}"))
    );
    let args_key = gbnf_literal(&format!("\", \"{}\":", format.arguments_key()));
    let mut rules = Rules::default();
    for tool in tools {
        let name = rule_name(tool.name);
        let args = rules.value(&format!("{name}-args"), &tool.parameters);
        let _ = writeln!(g, "call-{name} ::= {} {args_key} ws {args}", gbnf_literal(tool.name));
    }
    g.push_str(&rules.text);
    g.push_str("ws ::= \" \"?\n");
    let _ = writeln!(g, "string ::= \"\\\"\" string-char{{0,{MAX_STRING_CHARS}}} \"\\\"\"");
    g.push_str("string-char ::= [^\"\\\\\\x00-\\x1F\\x7F] | \"\\\\\" [\"\\\\/bfnrt]\n");
    g.push_str("boolean ::= \"true\" | \"false\"\n");
    g.push_str("number ::= \"-\"? [0-9]{1,15} (\".\" [0-9]{1,15})?\n");
    g
}

#[derive(Default)]
struct Rules {
    text: String,
}

impl Rules {
    /// A grammar expression for a value of `schema`; may define helper rules named after `name`.
    fn value(&mut self, name: &str, schema: &Value) -> String {
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            let alts: Vec<String> = options.iter().map(|o| gbnf_literal(&o.to_string())).collect();
            return format!("({})", alts.join(" | "));
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => self.object(name, schema),
            Some("string") => "string".into(),
            Some("boolean") => "boolean".into(),
            Some("integer") => integer(schema),
            Some("number") => "number".into(),
            _ => "string".into(),
        }
    }

    /// `{` the properties in schema order, optional ones optional, commas between `}`.
    fn object(&mut self, name: &str, schema: &Value) -> String {
        let empty = serde_json::Map::new();
        let props = schema.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let required: Vec<&str> =
            schema.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let mut kvs = Vec::new();
        for (key, sub) in props {
            let value = self.value(&format!("{name}-{}", rule_name(key)), sub);
            let rule = format!("{name}-{}-kv", rule_name(key));
            let _ = writeln!(self.text, "{rule} ::= {} \":\" ws {value}", gbnf_literal(&format!("\"{key}\"")));
            kvs.push((rule, required.contains(&key.as_str())));
        }
        if kvs.is_empty() {
            return "\"{}\"".into();
        }
        // Small objects: every order of every allowed subset, so the model may write keys as it likes.
        let orders = key_orders(kvs.len(), |i| kvs[i].1);
        if orders.len() <= MAX_KEY_ORDERS {
            let alts: Vec<String> = orders
                .iter()
                .map(|order| {
                    let body: Vec<&str> = order.iter().map(|&i| kvs[i].0.as_str()).collect();
                    if body.is_empty() {
                        "\"{}\"".to_string()
                    } else {
                        format!("\"{{\" {} \"}}\"", body.join(" \",\" ws "))
                    }
                })
                .collect();
            let _ = writeln!(self.text, "{name} ::= {}", alts.join(" | "));
            return name.to_string();
        }
        // Large objects: schema order, optional keys optional. first(i): keys i.. with none written yet;
        // rest(i): after one has been written.
        let n = kvs.len();
        for i in (0..n).rev() {
            let (kv, req) = &kvs[i];
            let next_rest = if i + 1 < n { format!(" {name}-rest{}", i + 1) } else { String::new() };
            let rest = if *req { format!("\",\" ws {kv}{next_rest}") } else { format!("(\",\" ws {kv})?{next_rest}") };
            let _ = writeln!(self.text, "{name}-rest{i} ::= {rest}");
            let first = match (*req, i + 1 < n) {
                (true, _) => format!("{kv}{next_rest}"),
                (false, true) => format!("{kv}{next_rest} | {name}-first{}", i + 1),
                (false, false) => format!("{kv}?"),
            };
            let _ = writeln!(self.text, "{name}-first{i} ::= {first}");
        }
        format!("\"{{\" {name}-first0 \"}}\"")
    }
}

/// Above this many key orders an object's keys must come in schema order.
const MAX_KEY_ORDERS: usize = 64;

/// Every sequence of distinct keys `0..n` that includes all required ones.
fn key_orders(n: usize, required: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
    fn extend(n: usize, current: &mut Vec<usize>, out: &mut Vec<Vec<usize>>, limit: usize) {
        out.push(current.clone());
        if out.len() > limit {
            return;
        }
        for i in 0..n {
            if !current.contains(&i) {
                current.push(i);
                extend(n, current, out, limit);
                current.pop();
            }
        }
    }
    let mut all = Vec::new();
    extend(n, &mut Vec::new(), &mut all, 4096);
    all.retain(|order| (0..n).all(|i| !required(i) || order.contains(&i)));
    all
}

/// Digits bounded by the schema: no sign when the minimum is not negative, no more digits than the maximum has.
fn integer(schema: &Value) -> String {
    let min = schema.get("minimum").and_then(Value::as_i64);
    let max = schema.get("maximum").and_then(Value::as_i64);
    let digits = max.map_or(15, |m| m.unsigned_abs().to_string().len()).max(1);
    let positive = if digits == 1 { "[1-9]".to_string() } else { format!("[1-9] [0-9]{{0,{}}}", digits - 1) };
    match min {
        Some(m) if m >= 1 => positive,
        Some(m) if m >= 0 => format!("(\"0\" | {positive})"),
        _ => format!("\"-\"? (\"0\" | {positive})"),
    }
}

fn rule_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect()
}

/// A GBNF string literal.
fn gbnf_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A finished tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedCall {
    pub tool: String,
    pub arguments: Value,
}

/// Parses a call written in `format` and checks it against `tools`. The grammar makes failure impossible for
/// text it produced; this is the guard that a malformed or unknown call still never leaves the service.
pub fn parse_call(format: ToolFormat, text: &str, tools: &[ToolSpec]) -> Result<ParsedCall, String> {
    let (tool, arguments) = format.parse(text)?;
    let spec = tools.iter().find(|t| t.name == tool).ok_or_else(|| format!("unknown tool {tool}"))?;
    validate(&arguments, &spec.parameters).map_err(|e| format!("{tool}: {e}"))?;
    Ok(ParsedCall { tool, arguments })
}

/// Checks `value` against the schema subset the catalog uses: type, enum, properties, required.
pub fn validate(value: &Value, schema: &Value) -> Result<(), String> {
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return Err(format!("{value} is not one of {options:?}"));
        }
    }
    let ok = match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let obj = value.as_object().ok_or_else(|| format!("{value} is not an object"))?;
            let props = schema.get("properties").and_then(Value::as_object);
            for key in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if !obj.contains_key(key) {
                    return Err(format!("missing required `{key}`"));
                }
            }
            for (key, v) in obj {
                let sub = props.and_then(|p| p.get(key)).ok_or_else(|| format!("unknown argument `{key}`"))?;
                validate(v, sub).map_err(|e| format!("`{key}`: {e}"))?;
            }
            true
        }
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{value} is not of type {}", schema["type"]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_bus::tool::catalog;
    use serde_json::json;

    #[test]
    fn grammar_covers_every_tool_with_its_keys() {
        let g = grammar(ToolFormat::Hermes, &catalog());
        for tool in catalog() {
            assert!(g.contains(&format!("\"{}\"", tool.name)), "{}", tool.name);
        }
        assert!(g.contains("\"\\\"duration_seconds\\\"\""));
        assert!(g.contains("(\"\\\"now\\\"\" | \"\\\"today\\\"\" | \"\\\"tomorrow\\\"\")"));
        // set_timer: duration_seconds required, name optional, either order.
        let d = "set-timer-args-duration-seconds-kv";
        let n = "set-timer-args-name-kv";
        assert!(g.contains(&format!("set-timer-args ::= \"{{\" {d} \"}}\" | \"{{\" {d} \",\" ws {n} \"}}\" | \"{{\" {n} \",\" ws {d} \"}}\"\n")), "{g}");
        assert!(g.contains("[1-9] [0-9]{0,4}"));
    }

    #[test]
    fn each_format_wraps_calls_its_own_way() {
        let g = grammar(ToolFormat::Llama3, &catalog());
        assert!(g.contains("call ::= \"{\\\"name\\\": \\\"\" (call-get-time | "), "{g}");
        assert!(g.contains("call-get-time ::= \"get_time\" \"\\\", \\\"parameters\\\":\" ws \"{}\"\n"), "{g}");
        let g = grammar(ToolFormat::Granite, &catalog());
        assert!(g.contains("call ::= \"<|tool_call|>[{\\\"name\\\": \\\"\" ("), "{g}");
        assert!(g.contains(") \"}]\"\n"), "{g}");
        let g = grammar(ToolFormat::Hermes, &catalog());
        assert!(g.contains("call ::= \"<tool_call>\\n{\\\"name\\\": \\\"\" ("), "{g}");
        assert!(g.contains(") \"}\\n</tool_call>\"\n"), "{g}");
        // No tools: the answer alone, and it still cannot open like a call.
        let g = grammar(ToolFormat::Json, &[]);
        assert!(g.starts_with("root ::= think? answer\n") && !g.contains("call"), "{g}");
        assert!(g.contains("answer ::= [^<{[\\x00-\\x20]"), "{g}");
    }

    #[test]
    fn parses_and_checks_calls() {
        let tools = catalog();
        let call = parse_call(ToolFormat::Hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n</tool_call>", &tools)
            .unwrap();
        assert_eq!(call, ParsedCall { tool: "get_weather".into(), arguments: json!({"location": "Paris"}) });
        let call = parse_call(ToolFormat::Hermes, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>", &tools).unwrap();
        assert_eq!(call.tool, "get_time");
        for bad in [
            "<tool_call>\n{\"name\": \"launch_rocket\", \"arguments\": {}}\n</tool_call>",
            "<tool_call>\n{\"name\": \"set_timer\", \"arguments\": {}}\n</tool_call>",
            "<tool_call>\n{\"name\": \"set_timer\", \"arguments\": {\"duration_seconds\": \"ten\"}}\n</tool_call>",
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"day\": \"yesterday\"}}\n</tool_call>",
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}\n</tool_call>",
            "<tool_call>\n{\"name\": \"get_weather\"",
        ] {
            assert!(parse_call(ToolFormat::Hermes, bad, &tools).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_orders_respect_required() {
        assert_eq!(key_orders(2, |_| false), vec![vec![], vec![0], vec![0, 1], vec![1], vec![1, 0]]);
        assert_eq!(key_orders(2, |i| i == 0), vec![vec![0], vec![0, 1], vec![1, 0]]);
        assert!(key_orders(8, |_| false).len() > MAX_KEY_ORDERS);
    }

    #[test]
    fn integer_bounds() {
        assert_eq!(integer(&json!({"type": "integer", "minimum": 1, "maximum": 86400})), "[1-9] [0-9]{0,4}");
        assert_eq!(integer(&json!({"type": "integer", "minimum": 0, "maximum": 9})), "(\"0\" | [1-9])");
        assert!(integer(&json!({"type": "integer"})).starts_with("\"-\"?"));
    }
}
