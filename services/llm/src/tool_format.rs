//! How each model family writes a tool call, found from its chat template.
//!
//! | format    | families                              | a call                                                 |
//! |-----------|---------------------------------------|--------------------------------------------------------|
//! | `hermes`  | Qwen 2.5/3, Hermes, SmolLM3           | `<tool_call>\n{"name": "x", "arguments": {…}}\n</tool_call>` |
//! | `llama3`  | Llama 3.1–3.3                         | `{"name": "x", "parameters": {…}}`                     |
//! | `granite` | Granite 3.x                           | `<|tool_call|>[{"name": "x", "arguments": {…}}]`       |
//! | `json`    | Gemma 3, Llama 3.0 (no native tools)  | `{"name": "x", "arguments": {…}}`, taught by Hearth's system prompt |
//!
//! The first three have their tools rendered by the model's own template; `json` appends
//! [`json_instructions`] to the system prompt. Every call starts with `<`, `{` or `[` and no spoken answer
//! may, so the first character of a reply tells which of the two it is.

use std::fmt;

use hearth_bus::tool::ToolSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::template::JsonStyle;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolFormat {
    Hermes,
    Llama3,
    Granite,
    Json,
}

/// The `[llm] tool_format` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolFormatChoice {
    /// Found from the chat template.
    #[default]
    Auto,
    Hermes,
    Llama3,
    Granite,
    Json,
    /// No tools: every reply is spoken text.
    None,
}

/// Characters a call may start with; a spoken answer may not.
pub const CALL_STARTS: [char; 3] = ['<', '{', '['];

impl ToolFormat {
    /// The format a chat template was written for, or `None` when Hearth does not know it.
    pub fn detect(template: &str) -> Option<ToolFormat> {
        if template.contains("<tool_call>") {
            Some(ToolFormat::Hermes)
        } else if template.contains("<|start_header_id|>") {
            // Llama 3.1+ templates render tools; 3.0's knows none, so it is taught the JSON convention.
            Some(if template.contains("tools") { ToolFormat::Llama3 } else { ToolFormat::Json })
        } else if template.contains("<|start_of_role|>") && template.contains("tools") {
            Some(ToolFormat::Granite)
        } else if template.contains("<start_of_turn>") {
            Some(ToolFormat::Json)
        } else {
            None
        }
    }

    /// The template renders the tool definitions itself (from its `tools` variable).
    pub fn template_renders_tools(self) -> bool {
        !matches!(self, ToolFormat::Json)
    }

    /// The role the template expects for a tool's result, or `None`: results go in a user turn.
    pub fn tool_role(self) -> Option<&'static str> {
        match self {
            ToolFormat::Hermes | ToolFormat::Llama3 => Some("tool"),
            ToolFormat::Granite => Some("tool_response"),
            ToolFormat::Json => None,
        }
    }

    /// The key that holds the arguments.
    pub fn arguments_key(self) -> &'static str {
        match self {
            ToolFormat::Llama3 => "parameters",
            _ => "arguments",
        }
    }

    /// Text before and after the `{"name": …}` object.
    pub fn wrapper(self) -> (&'static str, &'static str) {
        match self {
            ToolFormat::Hermes => ("<tool_call>\n", "\n</tool_call>"),
            ToolFormat::Granite => ("<|tool_call|>[", "]"),
            ToolFormat::Llama3 | ToolFormat::Json => ("", ""),
        }
    }

    /// Parses a finished call: `(tool name, arguments)`. Surrounding whitespace is ignored; Granite's
    /// `<|tool_call|>` is a control token that may come out of detokenizing as nothing.
    pub fn parse(self, text: &str) -> Result<(String, Value), String> {
        let (open, close) = self.wrapper();
        let mut inner = text.trim();
        inner = inner.strip_prefix(open.trim_end()).or_else(|| (self == ToolFormat::Granite).then(|| inner.strip_prefix('[')).flatten()).unwrap_or(inner);
        if !open.is_empty() && inner.len() == text.trim().len() {
            return Err(format!("not a complete {} call: missing {open:?}", self));
        }
        inner = inner.strip_suffix(close.trim_start()).ok_or_else(|| format!("not a complete {self} call: missing {close:?}"))?;
        let v: Value = serde_json::from_str(inner.trim()).map_err(|e| format!("tool call is not JSON: {e}"))?;
        let name = v.get("name").and_then(Value::as_str).ok_or("tool call has no name")?;
        let arguments = v.get(self.arguments_key()).cloned().unwrap_or_else(|| Value::Object(Default::default()));
        Ok((name.to_string(), arguments))
    }
}

impl fmt::Display for ToolFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ToolFormat::Hermes => "hermes",
            ToolFormat::Llama3 => "llama3",
            ToolFormat::Granite => "granite",
            ToolFormat::Json => "json",
        })
    }
}

/// A tool as chat templates receive it (OpenAI's shape, keys in this order as Python dicts keep them):
/// `{"type": "function", "function": {"name", "description", "parameters"}}`.
pub fn template_tool(tool: &ToolSpec) -> minijinja::Value {
    let function = minijinja::Value::from_iter([
        ("name", minijinja::Value::from(tool.name)),
        ("description", minijinja::Value::from(tool.description)),
        ("parameters", minijinja::Value::from_serialize(&tool.parameters)),
    ]);
    minijinja::Value::from_iter([("type", minijinja::Value::from("function")), ("function", function)])
}

/// What the `json` format adds to the system prompt: the tools and the one reply shape that calls one.
pub fn json_instructions(tools: &[ToolSpec]) -> String {
    let mut s = String::from(
        "\n\n# Tools\n\nYou can call these functions. Each is described by a JSON object:\n",
    );
    for tool in tools {
        let _ = JsonStyle::python().write(&template_tool(tool), 0, &mut s);
        s.push('\n');
    }
    s.push_str(
        "\nTo call a function, reply with only this JSON object and nothing else:\n\
         {\"name\": <function-name>, \"arguments\": <args-json-object>}\n\
         Otherwise answer in plain sentences.",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detects_each_family_from_its_template() {
        let t = |name: &str| crate::prompt::built_in_template(name).unwrap().1;
        assert_eq!(ToolFormat::detect(t("qwen3")), Some(ToolFormat::Hermes));
        assert_eq!(ToolFormat::detect(t("llama")), Some(ToolFormat::Llama3));
        assert_eq!(ToolFormat::detect(t("gemma3")), Some(ToolFormat::Json));
        assert_eq!(ToolFormat::detect(t("granite")), Some(ToolFormat::Granite));
        assert_eq!(ToolFormat::detect("{% for m in messages %}<|user|>{{ m.content }}<|end|>{% endfor %}"), None);
    }

    #[test]
    fn parses_each_format() {
        let paris = json!({"location": "Paris"});
        for (format, text) in [
            (ToolFormat::Hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n</tool_call>"),
            (ToolFormat::Llama3, "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}"),
            (ToolFormat::Json, " {\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n"),
            (ToolFormat::Granite, "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}]"),
            (ToolFormat::Granite, "[{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}]"),
        ] {
            assert_eq!(format.parse(text), Ok(("get_weather".into(), paris.clone())), "{format}: {text}");
        }
        assert!(ToolFormat::Hermes.parse("{\"name\": \"get_weather\", \"arguments\": {}}").is_err());
        assert!(ToolFormat::Hermes.parse("<tool_call>\n{\"name\": \"get_weather\"").is_err());
        assert!(ToolFormat::Json.parse("{\"name\": \"get_weather\", \"arguments\": {}").is_err());
    }
}
