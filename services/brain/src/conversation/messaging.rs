//! Messages and calls by voice, handed off: the brain finds the contact, reads the message back, and
//! only on a yes publishes `message/send` (or `call/start`) for whoever holds the keys; it says "Sent."
//! only when that handler acknowledges. A name close to several contacts is asked back. Incoming
//! messages are announced, and "reply …" answers the last one.
//!
//! The conversation keeps at most one question per site ([`Handoff`]): the next transcript there (in the
//! read-back's follow-up window, or typed) answers it; silence in that window, anything that is not an
//! answer, or its deadline cancels it, and nothing is sent.

use std::time::{Duration, Instant};

use hearth_bus::brain::{AssistantState, ReplySource};
use hearth_bus::message::{names, IncomingMessage, SendMessage, StartCall};
use hearth_bus::tts::Say;
use serde_json::Value;
use tracing::{debug, info, warn};

use super::Conversation;
use crate::contacts::{lookup_in, normalise, which_one, Contact, Lookup};
use crate::events::OutMessage;
use crate::phrases;
use crate::turn::{Pending, Playback, Turn, Waiting};

/// The tools the brain answers itself: they are never published as tool calls.
pub const OWN_TOOLS: &[&str] = &[names::SEND_MESSAGE, names::CALL_CONTACT, names::REPLY_MESSAGE];

/// Longest handler reason spoken; a handler that sends a paragraph is cut short.
const MAX_REASON_CHARS: usize = 120;

/// What is handed off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffKind {
    Message,
    Call,
}

impl HandoffKind {
    /// The handler never answered.
    pub fn no_handler(self, contact: &str) -> String {
        match self {
            HandoffKind::Message => phrases::NO_MESSAGE_SERVICE.into(),
            HandoffKind::Call => format!("I couldn't call {contact}: no call service answered."),
        }
    }

    fn done(self, contact: &str) -> String {
        match self {
            HandoffKind::Message => phrases::SENT.into(),
            HandoffKind::Call => format!("Calling {contact}."),
        }
    }

    fn failed(self, contact: &str, reason: Option<&str>) -> String {
        let reason: String = reason.unwrap_or("").trim().trim_end_matches(['.', '!']).chars().take(MAX_REASON_CHARS).collect();
        match (self, reason.is_empty()) {
            (HandoffKind::Message, true) => "I couldn't send it: the message service refused it.".into(),
            (HandoffKind::Message, false) => format!("I couldn't send it: {reason}."),
            (HandoffKind::Call, true) => format!("I couldn't call {contact}: the call service refused it."),
            (HandoffKind::Call, false) => format!("I couldn't call {contact}: {reason}."),
        }
    }

    fn cancelled(self) -> &'static str {
        match self {
            HandoffKind::Message => phrases::NOT_SENT,
            HandoffKind::Call => phrases::NOT_CALLED,
        }
    }
}

/// A message or call ready to hand off.
#[derive(Debug, Clone)]
struct Request {
    kind: HandoffKind,
    contact: String,
    channel: String,
    address: String,
    text: String,
}

impl Request {
    fn to(kind: HandoffKind, contact: &Contact, text: &str) -> Request {
        let (channel, address) = match kind {
            HandoffKind::Message => (contact.channel.as_str(), contact.address.as_str()),
            HandoffKind::Call => contact.call_target(),
        };
        Request { kind, contact: contact.name.clone(), channel: channel.into(), address: address.into(), text: text.into() }
    }

    /// "Message to Alex: I'm running late. Send it?" / "Call Alex?"
    fn read_back(&self) -> String {
        match self.kind {
            HandoffKind::Message => format!("Message to {}: {} Send it?", self.contact, with_full_stop(&self.text)),
            HandoffKind::Call => format!("Call {}?", self.contact),
        }
    }
}

/// What a question waits for.
#[derive(Debug, Clone)]
enum Asking {
    /// The read-back: a yes hands it off.
    Confirm(Request),
    /// "Alex or Alice?": the answer names one of the candidates.
    Which { kind: HandoffKind, text: String, candidates: Vec<Contact> },
}

/// A question about a message or call, waiting for the user's answer at a site.
#[derive(Debug, Clone)]
pub struct Handoff {
    asking: Asking,
    /// The turn that asked: silence in its follow-up window cancels.
    pub session_id: String,
    /// The tool and arguments asked for, for the reply summaries and the memory of the answer's turn.
    tool: Option<(String, Value)>,
    pub deadline: Instant,
}

/// The message announced last at a site, for "reply …".
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The contact's name, or the sender as the handler gave it.
    name: String,
    contact: Option<Contact>,
    channel: Option<String>,
    address: Option<String>,
    at: Instant,
}

/// What to do with a contact found (or not) for a request.
enum Next {
    HandOff(Request),
    ReadBack(Request),
    Ask(String, Asking),
    NotFound,
}

fn next(lookup: Lookup<'_>, kind: HandoffKind, text: &str) -> Next {
    match lookup {
        Lookup::Exact(c) if c.skip_confirmation => Next::HandOff(Request::to(kind, c, text)),
        // A name found only by similarity is read back even for a trusted contact: the read-back names it.
        Lookup::Exact(c) | Lookup::Close(c) => Next::ReadBack(Request::to(kind, c, text)),
        Lookup::Ambiguous(cs) => {
            let question = which_one(&cs);
            Next::Ask(question, Asking::Which { kind, text: text.into(), candidates: cs.into_iter().cloned().collect() })
        }
        Lookup::NotFound => Next::NotFound,
    }
}

/// The user's answer to a read-back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// Not an answer: a new request.
    Other,
}

/// Words that make any short answer a no ("no", "don't send it", "yes, no, wait").
const NO_WORDS: &[&str] = &["no", "nope", "nah", "not", "dont", "cancel", "stop", "wait", "neither", "nevermind"];
/// Ways a short answer starts when it is a yes.
const YES_STARTS: &[&str] = &[
    "yes", "yeah", "yep", "yup", "ya", "sure", "ok", "okay", "correct", "right", "affirmative", "absolutely", "send",
    "go ahead", "do it", "please do", "please send", "of course", "thats right", "that is right", "exactly",
];
/// A yes is short; a longer sentence that starts with "yes" is a new request.
const MAX_ANSWER_WORDS: usize = 5;

/// Whether `text` says yes or no to a read-back.
pub fn classify(text: &str) -> Answer {
    let words = normalise(text);
    let words: Vec<&str> = words.split_whitespace().collect();
    if words.is_empty() || words.len() > MAX_ANSWER_WORDS {
        return Answer::Other;
    }
    if words.iter().any(|w| NO_WORDS.contains(w)) || words.starts_with(&["never", "mind"]) || words.starts_with(&["forget", "it"]) {
        return Answer::No;
    }
    let joined = words.join(" ");
    let starts = |p: &&str| joined == *p || joined.strip_prefix(*p).is_some_and(|rest| rest.starts_with(' '));
    if YES_STARTS.iter().any(starts) {
        Answer::Yes
    } else {
        Answer::Other
    }
}

fn with_full_stop(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

fn text_argument(arguments: &Value, key: &str) -> String {
    arguments.get(key).and_then(Value::as_str).unwrap_or("").trim().to_string()
}

impl Conversation {
    /// `send_message`, `call_contact` or `reply_message`, from a local intent or the LLM.
    pub(super) fn on_handoff_tool(&mut self, now: Instant, site: &str, mut turn: Turn, tool: String, arguments: Value) {
        if turn.reply_source == ReplySource::Llm {
            turn.reply_source = ReplySource::Tool;
        }
        let kind = if tool == names::CALL_CONTACT { HandoffKind::Call } else { HandoffKind::Message };
        let text = text_argument(&arguments, "message");
        let heard = text_argument(&arguments, "contact");
        info!(site, session = %turn.session_id, %tool, contact = %heard, "message or call asked");
        let is_reply = tool == names::REPLY_MESSAGE;
        turn.tool = Some((tool, arguments));
        if kind == HandoffKind::Message && text.is_empty() {
            return self.say(now, site, turn, phrases::NO_MESSAGE_TEXT);
        }
        if is_reply {
            return self.reply_to_incoming(now, site, turn, &text);
        }
        if self.config.messages.contacts.is_empty() {
            warn!("no contacts to message or call: add [[brain.messages.contacts]] to the config");
            return self.say(now, site, turn, phrases::NO_CONTACTS);
        }
        let next = next(self.config.messages.lookup(&heard), kind, &text);
        self.act(now, site, turn, next, &heard);
    }

    fn act(&mut self, now: Instant, site: &str, turn: Turn, next: Next, heard: &str) {
        match next {
            Next::HandOff(request) => self.hand_off(now, site, turn, request),
            Next::ReadBack(request) => {
                let sentence = request.read_back();
                self.ask(now, site, turn, &sentence, Asking::Confirm(request));
            }
            Next::Ask(question, asking) => self.ask(now, site, turn, &question, asking),
            Next::NotFound if heard.is_empty() => self.say(now, site, turn, phrases::NO_CONTACT_NAME),
            Next::NotFound => {
                info!(site, contact = %heard, "not in the contacts");
                self.say(now, site, turn, &format!("I don't have anyone called {heard} in the contacts."));
            }
        }
    }

    /// Speaks `sentence` as the whole reply, keeping the turn's source (a local intent or the LLM's tool).
    fn say(&mut self, now: Instant, site: &str, turn: Turn, sentence: &str) {
        let source = turn.reply_source;
        self.answer(now, site, turn, sentence, source);
    }

    /// Asks `question` and keeps `asking` until the site's next transcript answers it.
    fn ask(&mut self, now: Instant, site: &str, turn: Turn, question: &str, asking: Asking) {
        let deadline = now + Duration::from_millis(self.config.messages.confirm_timeout_ms);
        let handoff = Handoff { asking, session_id: turn.session_id.clone(), tool: turn.tool.clone(), deadline };
        self.site(site).handoff = Some(handoff);
        self.say(now, site, turn, question);
    }

    /// Publishes the request and waits for the handler's result.
    fn hand_off(&mut self, now: Instant, site: &str, turn: Turn, r: Request) {
        let request_id = self.next_id();
        info!(site, session = %turn.session_id, contact = %r.contact, channel = %r.channel, kind = ?r.kind, "handing off");
        let session_id = Some(turn.session_id.clone());
        let message = match r.kind {
            HandoffKind::Message => OutMessage::SendMessage(SendMessage {
                request_id: request_id.clone(),
                session_id,
                contact: r.contact.clone(),
                channel: r.channel,
                address: r.address,
                text: r.text,
            }),
            HandoffKind::Call => OutMessage::StartCall(StartCall {
                request_id: request_id.clone(),
                session_id,
                contact: r.contact.clone(),
                channel: r.channel,
                address: r.address,
            }),
        };
        self.emit(site, message);
        let deadline = now + Duration::from_millis(self.config.messages.result_timeout_ms);
        let waiting = Waiting::Handoff { request_id, kind: r.kind, contact: r.contact };
        self.site(site).pending = Some(Pending { turn, waiting, deadline });
    }

    /// A handler's `message/result` or `call/result`.
    pub(super) fn on_handoff_result(&mut self, now: Instant, site: &str, request_id: &str, ok: bool, reason: Option<&str>) {
        let ours = |w: &Waiting| matches!(w, Waiting::Handoff { request_id: id, .. } if id == request_id);
        let Some(Pending { turn, waiting: Waiting::Handoff { kind, contact, .. }, .. }) = self.take_pending_if(site, ours) else {
            debug!(site, request_id, "a result nobody waits for");
            return;
        };
        info!(site, session = %turn.session_id, ok, reason = reason.unwrap_or(""), "handler answered");
        let sentence = if ok { kind.done(&contact) } else { kind.failed(&contact, reason) };
        self.say(now, site, turn, &sentence);
    }

    /// The site's next transcript after a read-back or a question back: its answer, or (given back) a new
    /// request, the message cancelled.
    pub(super) fn on_handoff_answer(&mut self, now: Instant, site: &str, mut turn: Turn) -> Option<Turn> {
        let Some(handoff) = self.site(site).handoff.take_if(|h| h.deadline > now) else { return Some(turn) };
        let answer = classify(&turn.request);
        turn.tool = handoff.tool;
        match (handoff.asking, answer) {
            (Asking::Confirm(request), Answer::Yes) => self.hand_off(now, site, turn, request),
            (Asking::Confirm(Request { kind, .. }) | Asking::Which { kind, .. }, Answer::No) => {
                info!(site, session = %turn.session_id, "cancelled: nothing sent");
                self.say(now, site, turn, kind.cancelled());
            }
            (Asking::Which { kind, text, candidates }, _) => match next(lookup_in(candidates.iter(), &turn.request), kind, &text) {
                Next::NotFound => return Some(not_an_answer(site, turn)),
                next => self.act(now, site, turn, next, ""),
            },
            (Asking::Confirm(_), _) => return Some(not_an_answer(site, turn)),
        }
        None
    }

    /// Silence (or nothing understood) in the follow-up window of `session`'s read-back: nothing is sent.
    pub(super) fn cancel_handoff_of(&mut self, site: &str, session: &str) {
        if self.site(site).handoff.take_if(|h| h.session_id == session).is_some() {
            info!(site, session, "no answer to the read-back: nothing sent");
        }
    }

    /// Announces a message that arrived, as its own utterance, with a follow-up window for "reply …".
    pub(super) fn on_incoming_message(&mut self, now: Instant, site: &str, m: IncomingMessage) {
        let text = m.text.trim();
        if text.is_empty() || m.from.trim().is_empty() {
            warn!(site, "an incoming message without sender or text: dropped");
            return;
        }
        let contact = self.config.messages.find_sender(&m.from).cloned();
        let name = contact.as_ref().map_or_else(|| m.from.trim().to_string(), |c| c.name.clone());
        let sentence = format!("New message from {name}: {}", with_full_stop(text));
        info!(site, from = %name, "announcing a message");
        self.site(site).incoming = Some(Incoming { name, contact, channel: m.channel, address: m.address, at: now });
        let session_id = self.next_id();
        let utterance_id = self.next_id();
        let say = Say { utterance_id: utterance_id.clone(), session_id: Some(session_id.clone()), seq: 0, text: sentence, last: true };
        self.emit(site, OutMessage::Say(say));
        // A turn in progress keeps the site: the message is said, but no reply window is opened for it.
        if self.site(site).pending.is_none() {
            let deadline = now + Duration::from_millis(self.config.playback_timeout_ms);
            self.site(site).playback = Some(Playback { utterance_id, session_id: session_id.clone(), follow_up: true, deadline });
            self.set_state(site, AssistantState::Speaking, Some(session_id));
        }
    }

    fn reply_to_incoming(&mut self, now: Instant, site: &str, turn: Turn, text: &str) {
        let keep = Duration::from_secs(self.config.memory_s);
        let incoming = self.site(site).incoming.clone().filter(|i| now.saturating_duration_since(i.at) <= keep);
        let Some(Incoming { name, contact, channel, address, .. }) = incoming else {
            return self.say(now, site, turn, phrases::NOTHING_TO_REPLY);
        };
        let channel = channel.or_else(|| contact.as_ref().map(|c| c.channel.clone()));
        let address = address.or_else(|| contact.as_ref().map(|c| c.address.clone())).unwrap_or_default();
        let Some(channel) = channel else {
            let sentence = format!("I can't reply to {name}: the message didn't say where replies go.");
            return self.say(now, site, turn, &sentence);
        };
        let request = Request { kind: HandoffKind::Message, contact: name, channel, address, text: text.into() };
        let next = if contact.is_some_and(|c| c.skip_confirmation) { Next::HandOff(request) } else { Next::ReadBack(request) };
        self.act(now, site, turn, next, "");
    }
}

fn not_an_answer(site: &str, mut turn: Turn) -> Turn {
    info!(site, session = %turn.session_id, "not an answer to the question: nothing sent, a new request");
    turn.tool = None;
    turn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_and_no_in_the_words_people_use() {
        for yes in ["Yes.", "yeah", "Yes please", "Sure, send it.", "send it", "Go ahead", "OK", "that's right", "yes call her"] {
            assert_eq!(classify(yes), Answer::Yes, "{yes}");
        }
        for no in ["No.", "no thanks", "Don't send it", "cancel", "never mind", "yes, no, wait", "nope"] {
            assert_eq!(classify(no), Answer::No, "{no}");
        }
        for other in ["", "what time is it", "yes and also tell her I love you very much", "Alice", "sender"] {
            assert_eq!(classify(other), Answer::Other, "{other}");
        }
    }

    #[test]
    fn sentences_spoken_for_results() {
        assert_eq!(HandoffKind::Message.failed("Alex", Some(" Signal is not set up. ")), "I couldn't send it: Signal is not set up.");
        assert_eq!(HandoffKind::Message.failed("Alex", None), "I couldn't send it: the message service refused it.");
        assert_eq!(HandoffKind::Call.failed("Alex", Some("no phone")), "I couldn't call Alex: no phone.");
        assert_eq!(HandoffKind::Call.done("Alex"), "Calling Alex.");
        let long = "x".repeat(500);
        assert!(HandoffKind::Message.failed("Alex", Some(&long)).len() < 160);
        let r = Request { kind: HandoffKind::Message, contact: "Alex".into(), channel: "signal".into(), address: String::new(), text: "I'm late".into() };
        assert_eq!(r.read_back(), "Message to Alex: I'm late. Send it?");
    }
}
