//! A site's conversation: recent messages, forgotten after a quiet spell, trimmed to a budget.

use std::time::{Duration, Instant};

use hearth_bus::llm::{ChatMessage, Role};
use serde_json::{json, Value};

/// A tool turn as later prompts see it: the tool, its arguments and the sentence that was spoken. That is
/// what a follow-up ("what about tomorrow?", "and in London?") needs; the tool's structured `data` would
/// only make every later prompt longer (a slow board pays for each token it evaluates).
pub fn tool_message(tool: &str, arguments: &Value, sentence: &str) -> ChatMessage {
    ChatMessage { role: Role::Tool, content: json!({"tool": tool, "arguments": arguments, "result": sentence}).to_string() }
}

#[derive(Debug, Default)]
pub struct Memory {
    messages: Vec<ChatMessage>,
    last_turn: Option<Instant>,
}

impl Memory {
    /// Forgets everything if the last turn is older than `keep`.
    pub fn expire(&mut self, now: Instant, keep: Duration) {
        if self.last_turn.is_some_and(|t| now.duration_since(t) > keep) {
            self.messages.clear();
            self.last_turn = None;
        }
    }

    /// The history plus `user_text`, at most `max` messages, oldest dropped first (never starting
    /// with an orphaned reply).
    pub fn request(&self, user_text: &str, max: usize) -> Vec<ChatMessage> {
        let mut out: Vec<ChatMessage> = self.messages.clone();
        out.push(ChatMessage { role: Role::User, content: user_text.to_string() });
        let mut start = out.len().saturating_sub(max);
        while start < out.len() - 1 && out[start].role != Role::User {
            start += 1;
        }
        out.split_off(start)
    }

    /// Records a finished turn.
    pub fn record(&mut self, now: Instant, user_text: &str, reply: ChatMessage) {
        self.messages.push(ChatMessage { role: Role::User, content: user_text.to_string() });
        self.messages.push(reply);
        self.last_turn = Some(now);
        // Keep the stored history bounded too.
        if self.messages.len() > 64 {
            self.messages.drain(..self.messages.len() - 64);
        }
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(s: &str) -> ChatMessage {
        ChatMessage { role: Role::Assistant, content: s.into() }
    }

    #[test]
    fn a_tool_turn_keeps_the_tool_its_arguments_and_the_sentence() {
        let m = tool_message("get_weather", &json!({"location": "Paris"}), "It's 14 degrees and cloudy in Paris.");
        assert_eq!(m.role, Role::Tool);
        let content: Value = serde_json::from_str(&m.content).unwrap();
        assert_eq!(
            content,
            json!({"tool": "get_weather", "arguments": {"location": "Paris"}, "result": "It's 14 degrees and cloudy in Paris."})
        );
    }

    #[test]
    fn remembers_trims_and_forgets() {
        let t0 = Instant::now();
        let mut m = Memory::default();
        m.record(t0, "weather in Paris?", ChatMessage { role: Role::Tool, content: "{}".into() });
        m.record(t0, "thanks", reply("You're welcome."));
        let r = m.request("what about tomorrow?", 12);
        assert_eq!(r.len(), 5);
        assert_eq!(r.last().unwrap().content, "what about tomorrow?");
        // A budget of 2 keeps a user message first.
        let r = m.request("and now?", 2);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].role, Role::User);
        let r = m.request("and now?", 3);
        assert_eq!(r[0].content, "thanks");
        m.expire(t0 + Duration::from_secs(10), Duration::from_secs(300));
        assert_eq!(m.len(), 4);
        m.expire(t0 + Duration::from_secs(301), Duration::from_secs(300));
        assert!(m.is_empty());
    }
}
