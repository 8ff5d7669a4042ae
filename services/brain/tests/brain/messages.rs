//! Messages and calls: read back, sent only on a yes, "Sent." only on the handler's acknowledgement;
//! names asked back; incoming messages announced and replied to. All at explicit instants.

use hearth_brain::{phrases, BrainConfig, Contact, Inbound, MessagesConfig};
use hearth_bus::brain::ReplySource;
use hearth_bus::listen::EndReason;
use hearth_bus::llm::LlmEventKind;
use hearth_bus::message::{CallResult, IncomingMessage, MessageResult, SendMessage};
use serde_json::json;

use crate::util::*;

const READ_BACK: &str = "Message to Alex: I'm running late. Send it?";

fn contact(name: &str, aliases: &[&str], channel: &str, address: &str) -> Contact {
    Contact {
        name: name.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        channel: channel.into(),
        address: address.into(),
        call_channel: None,
        call_address: None,
        skip_confirmation: false,
    }
}

/// Alex (Signal, calls by phone), Alice (Telegram), Mom (SMS), and "Family", a trusted group chat.
pub fn contacts() -> MessagesConfig {
    let mut alex = contact("Alex", &["alec"], "signal", "+15550001");
    alex.call_channel = Some("phone".into());
    let mut family = contact("Family", &["the family"], "telegram", "-1001");
    family.skip_confirmation = true;
    MessagesConfig {
        result_timeout_ms: 10_000,
        confirm_timeout_ms: 60_000,
        contacts: vec![alex, contact("Alice", &[], "telegram", "4242"), contact("Mom", &["mum"], "sms", "+15550002"), family],
    }
}

fn brain() -> Brain {
    Brain::new(BrainConfig { messages: contacts(), ..BrainConfig::default() })
}

fn acknowledged(m: &SendMessage, ok: bool, reason: Option<&str>) -> Inbound {
    Inbound::MessageResult(MessageResult { request_id: m.request_id.clone(), ok, reason: reason.map(String::from), handler: None })
}

/// Asks by voice, hears the read-back play and the follow-up window open and end with speech.
fn read_back_heard(brain: &mut Brain, request: &str, read_back: &str) {
    let out = brain.event(0, spoken("s", request));
    assert_eq!(out.texts(), [read_back]);
    assert!(out.messages().is_empty() && out.calls().is_empty(), "nothing leaves before the yes");
    let say = out.says().remove(0);
    let listen = brain.event(3000, played(&say, false)).listens().remove(0);
    assert_eq!(listen.session_id.as_deref(), Some("s"));
    brain.event(3010, started("s"));
    brain.event(4000, ended("s", EndReason::Silence));
}

#[test]
fn a_message_is_read_back_sent_on_yes_and_sent_is_said_on_the_acknowledgement() {
    let mut brain = brain();
    read_back_heard(&mut brain, "text Alex that I'm running late", READ_BACK);
    let out = brain.event(4500, spoken("s", "Yes."));
    assert!(out.says().is_empty(), "nothing is said before the handler answers");
    let sent = out.messages().remove(0);
    assert_eq!(
        sent,
        SendMessage {
            request_id: sent.request_id.clone(),
            session_id: Some("s".into()),
            contact: "Alex".into(),
            channel: "signal".into(),
            address: "+15550001".into(),
            text: "I'm running late".into(),
        }
    );
    let out = brain.event(5000, acknowledged(&sent, true, None));
    assert_eq!(out.texts(), [phrases::SENT]);
    let reply = out.reply();
    assert_eq!((reply.request.as_str(), reply.tool.as_deref(), reply.source), ("Yes.", Some("send_message"), ReplySource::Intent));
    // A second result for the same request changes nothing.
    assert!(brain.event(5100, acknowledged(&sent, true, None)).is_empty());
}

#[test]
fn no_cancels_and_nothing_is_sent() {
    let mut brain = brain();
    read_back_heard(&mut brain, "send a message to mom saying dinner is ready", "Message to Mom: dinner is ready. Send it?");
    let out = brain.event(4500, spoken("s", "no, don't send it"));
    assert_eq!(out.texts(), [phrases::NOT_SENT]);
    assert!(out.messages().is_empty());
    // The question is gone: a later yes is a request of its own, not a confirmation.
    assert!(brain.event(9000, typed("t", "yes")).messages().is_empty());
}

#[test]
fn silence_after_the_read_back_cancels() {
    let mut brain = brain();
    let say = brain.event(0, spoken("s", "text Alex that I'm running late")).says().remove(0);
    brain.event(3000, played(&say, false));
    brain.event(3010, started("s"));
    let out = brain.event(8000, ended("s", EndReason::NoSpeech));
    assert!(out.messages().is_empty() && out.says().is_empty());
    assert_eq!(brain.next_deadline_ms(), None, "no question is left waiting");
    brain.event(9000, wake("t"));
    assert!(brain.event(10_000, spoken("t", "yes")).messages().is_empty());
}

#[test]
fn a_typed_read_back_waits_for_the_next_typed_answer_until_its_deadline() {
    let mut brain = brain();
    assert_eq!(brain.event(0, typed("a", "text Alex that I'm running late")).texts(), [READ_BACK]);
    assert_eq!(brain.next_deadline_ms(), Some(60_000));
    let sent = brain.event(20_000, typed("b", "send it")).messages().remove(0);
    assert_eq!((sent.session_id.as_deref(), sent.text.as_str()), (Some("b"), "I'm running late"));
    // Unanswered read-backs expire silently.
    brain.event(30_000, acknowledged(&sent, true, None));
    brain.event(40_000, typed("c", "text Alex that I'm running late"));
    assert!(brain.deadline(100_000).is_empty());
    assert!(brain.event(100_001, typed("d", "yes")).messages().is_empty());
}

#[test]
fn anything_but_yes_or_no_cancels_and_is_answered_as_a_new_request() {
    let mut brain = brain();
    read_back_heard(&mut brain, "text Alex that I'm running late", READ_BACK);
    let out = brain.event(4500, spoken("s", "what time is it"));
    assert!(out.messages().is_empty());
    assert_eq!(out.tool_calls().remove(0).tool, "get_time");
}

#[test]
fn a_name_close_to_two_contacts_is_asked_back_and_the_answer_picks_one() {
    let mut brain = brain();
    read_back_heard(&mut brain, "text Alix that I'm running late", "Alex or Alice?");
    let out = brain.event(4500, spoken("s", "Alice."));
    assert_eq!(out.texts(), ["Message to Alice: I'm running late. Send it?"]);
    assert!(out.messages().is_empty());
    let sent = brain.event(6000, typed("t", "yes")).messages().remove(0);
    assert_eq!((sent.contact.as_str(), sent.channel.as_str(), sent.address.as_str()), ("Alice", "telegram", "4242"));
}

#[test]
fn a_name_close_to_one_contact_is_read_back_with_its_name_and_an_unknown_one_is_said() {
    let mut brain = brain();
    assert_eq!(brain.event(0, typed("a", "text Mommy that I'm home")).texts(), ["Message to Mom: I'm home. Send it?"]);
    assert_eq!(brain.event(10, typed("b", "text Alec that see you there")).texts(), ["Message to Alex: see you there. Send it?"]);
    let out = brain.event(20, typed("c", "text Bob that see you there"));
    assert_eq!(out.texts(), ["I don't have anyone called Bob in the contacts."]);
    assert!(out.messages().is_empty());
}

#[test]
fn a_trusted_contact_is_sent_at_once_and_a_rejection_is_said_with_its_reason() {
    let mut brain = brain();
    let out = brain.event(0, typed("a", "tell family that dinner is ready"));
    assert!(out.says().is_empty(), "no read-back for a contact that skips it");
    let sent = out.messages().remove(0);
    assert_eq!((sent.contact.as_str(), sent.text.as_str()), ("Family", "dinner is ready"));
    let out = brain.event(800, acknowledged(&sent, false, Some("Telegram is not set up in Home Assistant")));
    assert_eq!(out.texts(), ["I couldn't send it: Telegram is not set up in Home Assistant."]);
}

#[test]
fn a_handler_that_never_answers_times_out_with_a_reason() {
    let mut brain = brain();
    brain.event(0, typed("a", "tell family that dinner is ready"));
    assert_eq!(brain.next_deadline_ms(), Some(10_000));
    assert!(brain.deadline(9_999).is_empty());
    let out = brain.deadline(10_000);
    assert_eq!(out.texts(), [phrases::NO_MESSAGE_SERVICE]);
    assert_eq!(out.reply().source, ReplySource::Fallback);
}

#[test]
fn a_call_is_confirmed_and_placed_on_the_call_channel() {
    let mut brain = brain();
    read_back_heard(&mut brain, "call Alex", "Call Alex?");
    let call = brain.event(4500, spoken("s", "yes please")).calls().remove(0);
    assert_eq!((call.contact.as_str(), call.channel.as_str(), call.address.as_str()), ("Alex", "phone", "+15550001"));
    let result = CallResult { request_id: call.request_id.clone(), ok: true, reason: None, handler: Some("test".into()) };
    assert_eq!(brain.event(5000, Inbound::CallResult(result)).texts(), ["Calling Alex."]);
    // A call nobody handles.
    brain.event(6000, typed("t", "call mum"));
    brain.event(6100, typed("u", "yes"));
    assert_eq!(brain.deadline(16_100).texts(), ["I couldn't call Mom: no call service answered."]);
}

#[test]
fn without_contacts_it_says_so_and_sends_nothing() {
    let mut brain = Brain::new(BrainConfig::default());
    let out = brain.event(0, typed("a", "text Alex that I'm running late"));
    assert_eq!(out.texts(), [phrases::NO_CONTACTS]);
    assert!(out.messages().is_empty());
}

#[test]
fn the_llm_tool_call_is_read_back_too() {
    let mut brain = Brain::with_llm(BrainConfig { messages: contacts(), ..BrainConfig::default() });
    let request = brain.event(0, typed("a", "let Alex know I'm running late")).llm_requests().remove(0);
    let arguments = json!({"contact": "alex", "message": "I'm running late"});
    let out = brain.event(900, llm(&request, LlmEventKind::ToolCall { tool: "send_message".into(), arguments }));
    assert_eq!(out.texts(), [READ_BACK]);
    assert_eq!(out.reply().source, ReplySource::Tool);
    assert!(out.tool_calls().is_empty(), "the brain answers its own tool");
    assert_eq!(brain.event(2000, typed("b", "yes")).messages().len(), 1);
}

#[test]
fn an_incoming_message_is_announced_and_replied_to_in_the_window() {
    let mut brain = brain();
    let incoming = IncomingMessage { from: "+15550001".into(), text: "on my way".into(), channel: Some("signal".into()), address: None };
    let out = brain.event(0, Inbound::IncomingMessage(incoming));
    assert_eq!(out.texts(), ["New message from Alex: on my way."]);
    let say = out.says().remove(0);
    let session = say.session_id.clone().expect("the announcement is a turn of its own");
    let listen = brain.event(2000, played(&say, false)).listens().remove(0);
    assert_eq!(listen.session_id.as_ref(), Some(&session));
    brain.event(2010, started(&session));
    brain.event(3000, ended(&session, EndReason::Silence));
    let out = brain.event(3500, spoken(&session, "reply saying see you soon"));
    assert_eq!(out.texts(), ["Message to Alex: see you soon. Send it?"]);
    assert_eq!(out.reply().tool.as_deref(), Some("reply_message"));
    let sent = brain.event(6000, typed("t", "yes")).messages().remove(0);
    assert_eq!((sent.contact.as_str(), sent.channel.as_str(), sent.address.as_str()), ("Alex", "signal", "+15550001"));
}

#[test]
fn a_reply_with_nothing_to_reply_to_says_so() {
    let mut brain = brain();
    assert_eq!(brain.event(0, typed("a", "reply saying ok then")).texts(), [phrases::NOTHING_TO_REPLY]);
    // A stranger's message without a reply address cannot be answered.
    let stranger = IncomingMessage { from: "Pat".into(), text: "hello".into(), channel: None, address: None };
    assert_eq!(brain.event(10, Inbound::IncomingMessage(stranger)).texts(), ["New message from Pat: hello."]);
    assert_eq!(brain.event(20, typed("b", "reply saying who is this")).texts(), ["I can't reply to Pat: the message didn't say where replies go."]);
}
