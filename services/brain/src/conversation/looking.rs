//! "What do you see?": the `look` tool, asked by a local intent or by the LLM, goes to the vision service
//! when one is online and the site has a camera that is switched on; otherwise a plain sentence says why
//! not, at once ("The camera is off." when the user switched it off). The vision service's sentences (`vision/sentence`) are spoken as they arrive, each as soon
//! as it exists; its `tool/result` only closes the utterance, or speaks what the streamed sentences did not
//! cover (the broker does not order the two topics, and a vision service may not stream at all). The wait
//! is `look_timeout_ms`, long enough for a small vision model on a Raspberry Pi.

use std::time::{Duration, Instant};

use hearth_bus::brain::ReplySource;
use hearth_bus::tool::{ToolCall, ToolResult};
use hearth_bus::vision::{VisionSentence, LOOK};
use serde_json::Value;
use tracing::{debug, info};

use super::Conversation;
use crate::events::OutMessage;
use crate::phrases;
use crate::turn::{Pending, Turn, Waiting};

impl Conversation {
    /// A `look` call: to the vision service, or a plain sentence when it cannot be answered here.
    pub(super) fn on_look_tool(&mut self, now: Instant, site: &str, mut turn: Turn, arguments: Value) {
        turn.tool = Some((LOOK.to_string(), arguments.clone()));
        // The user's "off" first: it holds whether or not the camera service is running now.
        let refusal = if self.site(site).camera_off {
            Some(phrases::CAMERA_OFF)
        } else if !self.tools.camera_at(site) {
            Some(phrases::NO_CAMERA)
        } else if !self.tools.service_serves(LOOK) {
            Some(phrases::NO_VISION)
        } else {
            None
        };
        if let Some(sentence) = refusal {
            info!(site, session = %turn.session_id, sentence, "cannot look");
            let source = if turn.reply_source == ReplySource::Llm { ReplySource::Tool } else { turn.reply_source };
            return self.answer(now, site, turn, sentence, source);
        }
        let call_id = self.next_id();
        info!(site, session = %turn.session_id, "look");
        let call = ToolCall { call_id: call_id.clone(), session_id: Some(turn.session_id.clone()), tool: LOOK.into(), arguments };
        self.emit(site, OutMessage::CallTool(call));
        let deadline = now + Duration::from_millis(self.config.look_timeout_ms);
        self.site(site).pending = Some(Pending { turn, waiting: Waiting::Look { call_id, streamed: Vec::new() }, deadline });
    }

    /// One sentence of the answer: said at once; the wait for the next starts over.
    pub(super) fn on_vision_sentence(&mut self, now: Instant, site: &str, s: VisionSentence) {
        let ours = |w: &Waiting| matches!(w, Waiting::Look { call_id, .. } if *call_id == s.call_id);
        let Some(Pending { mut turn, waiting: Waiting::Look { call_id, mut streamed }, .. }) = self.take_pending_if(site, ours) else {
            return;
        };
        // QoS 1 may deliver a sentence twice (after a reconnect); each is said once.
        if (s.seq as usize) < streamed.len() {
            debug!(site, seq = s.seq, "vision sentence seen already");
        } else {
            let text = s.text.trim();
            if !text.is_empty() {
                self.speak(site, &mut turn, text, false);
            }
            streamed.push(text.to_string());
        }
        let deadline = now + Duration::from_millis(self.config.look_timeout_ms);
        self.site(site).pending = Some(Pending { turn, waiting: Waiting::Look { call_id, streamed }, deadline });
    }

    /// The vision service's result for the `look` pending at `site`.
    pub(super) fn on_look_result(&mut self, now: Instant, site: &str, mut turn: Turn, streamed: Vec<String>, r: ToolResult) {
        if turn.reply_source == ReplySource::Llm {
            turn.reply_source = ReplySource::Tool;
        }
        let source = turn.reply_source;
        let said: Vec<&str> = streamed.iter().map(String::as_str).filter(|t| !t.is_empty()).collect();
        if said.is_empty() {
            // Nothing streamed (a failure, or a service that does not stream): the result is the answer.
            return self.answer(now, site, turn, &r.sentence, source);
        }
        // Sentences that arrived after their result are not waited for: the result holds them all.
        let rest = if r.ok { r.sentence.strip_prefix(said.join(" ").as_str()).map(str::trim).unwrap_or("") } else { "" };
        if rest.is_empty() {
            self.close_utterance(site, &mut turn);
            self.finish(now, site, turn);
        } else {
            self.answer(now, site, turn, rest, source);
        }
    }

    /// The vision service went quiet: what it said stays, else a plain sentence.
    pub(super) fn on_look_timeout(&mut self, now: Instant, site: &str, mut turn: Turn, streamed: &[String]) {
        if streamed.iter().any(|t| !t.is_empty()) {
            self.close_utterance(site, &mut turn);
            self.finish(now, site, turn);
        } else {
            self.answer(now, site, turn, phrases::LOOK_TOO_SLOW, ReplySource::Fallback);
        }
    }
}
