//! "What do you see?" at explicit instants: the `look` call goes to the vision service only where a camera
//! is online (and a vision service anywhere); its sentences are spoken as they arrive, the result closes the
//! reply; a missing camera or vision service, a failure or a silent service each get a plain sentence.

use hearth_brain::phrases;
use hearth_brain::{BrainConfig, Inbound};
use hearth_bus::brain::ReplySource;
use hearth_bus::llm::LlmEventKind;
use hearth_bus::service::ServiceState;
use hearth_bus::tool::{ToolCall, ToolResult};
use hearth_bus::vision::{CameraEnabled, VisionSentence, LOOK};
use serde_json::json;

use crate::util::*;

const SEEN: [&str; 2] = ["I see a kitchen table with two cups.", "The window is open."];

fn config() -> BrainConfig {
    BrainConfig { tool_timeout_ms: 1_000, look_timeout_ms: 30_000, ..BrainConfig::default() }
}

/// A camera service at `site` comes online (it announces `camera:<source>`, no tool).
pub fn camera_at(brain: &mut Brain, site: &str) {
    let info = Inbound::ServiceInfo { service: "camera".into(), capabilities: vec!["camera:file:room.jpg".into()] };
    assert!(brain.event_at(0, site, info).is_empty());
    assert!(brain.event_at(0, site, Inbound::ServiceStatus { service: "camera".into(), state: ServiceState::Online }).is_empty());
}

/// The usual services, a vision service on the hub and a camera in the kitchen.
fn seeing_brain(config: BrainConfig) -> Brain {
    let mut brain = Brain::new(config);
    brain.serve("vision", &[LOOK]);
    camera_at(&mut brain, SITE);
    brain
}

fn vision_sentence(call: &ToolCall, seq: u32, text: &str) -> Inbound {
    Inbound::VisionSentence(VisionSentence { call_id: call.call_id.clone(), session_id: call.session_id.clone(), seq, text: text.into() })
}

fn look_result(call: &ToolCall, ok: bool, sentence: &str) -> Inbound {
    Inbound::ToolResult(ToolResult {
        call_id: call.call_id.clone(),
        session_id: call.session_id.clone(),
        tool: LOOK.into(),
        ok,
        sentence: sentence.into(),
        data: ok.then(|| json!({"streamed_sentences": 2})),
    })
}

#[test]
fn each_sentence_is_spoken_as_it_arrives_and_the_result_closes_the_reply() {
    let mut brain = seeing_brain(config());
    let out = brain.event(0, spoken("s", "hey what do you see"));
    let call = out.tool_calls().remove(0);
    assert_eq!((call.tool.as_str(), call.session_id.as_deref()), (LOOK, Some("s")));
    assert!(out.says().is_empty(), "nothing is said before the camera has looked");
    // Well past the ordinary tool timeout: a vision model on a Pi takes its time.
    assert_eq!(brain.next_deadline_ms(), Some(30_000));
    assert!(brain.deadline(5_000).is_empty());

    let first = brain.event(20_000, vision_sentence(&call, 0, SEEN[0])).says();
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].text.as_str(), first[0].seq, first[0].last), (SEEN[0], 0, false));
    // The wait for the next sentence starts over.
    assert_eq!(brain.next_deadline_ms(), Some(50_000));
    let second = brain.event(21_000, vision_sentence(&call, 1, SEEN[1])).says();
    assert_eq!((second[0].text.as_str(), second[0].seq, second[0].last), (SEEN[1], 1, false));

    let out = brain.event(21_500, look_result(&call, true, &SEEN.join(" ")));
    let close = out.says();
    assert_eq!(close.len(), 1);
    assert_eq!((close[0].text.as_str(), close[0].last), ("", true), "the sentences are said already: only the close");
    assert!([&first[0], &second[0], &close[0]].iter().all(|s| s.utterance_id == first[0].utterance_id));
    let reply = out.reply();
    assert_eq!((reply.text.as_str(), reply.source, reply.tool.as_deref()), (SEEN.join(" ").as_str(), ReplySource::Intent, Some(LOOK)));
    assert_eq!(reply.elapsed_ms, 21_500);
    assert!(brain.event(21_600, vision_sentence(&call, 1, SEEN[1])).is_empty(), "a late duplicate is not said");
}

#[test]
fn a_question_is_passed_on() {
    let mut brain = seeing_brain(config());
    let call = brain.event(0, typed("q", "look and tell me is the stove on")).tool_calls().remove(0);
    assert_eq!(call.arguments, json!({"question": "is the stove on"}));
}

#[test]
fn a_result_without_streamed_sentences_is_the_answer() {
    let mut brain = seeing_brain(config());
    let call = brain.event(0, typed("a", "describe the room")).tool_calls().remove(0);
    let out = brain.event(9_000, look_result(&call, true, &SEEN.join(" ")));
    let says = out.says();
    assert_eq!(says.len(), 1);
    assert_eq!((says[0].text.as_str(), says[0].last), (SEEN.join(" ").as_str(), true));
}

#[test]
fn a_result_ahead_of_its_last_sentence_says_the_rest_once() {
    // The broker orders each topic, not the two: the result may overtake the last sentence.
    let mut brain = seeing_brain(config());
    let call = brain.event(0, typed("a", "what can you see")).tool_calls().remove(0);
    brain.event(100, vision_sentence(&call, 0, SEEN[0]));
    let out = brain.event(200, look_result(&call, true, &SEEN.join(" ")));
    let says = out.says();
    assert_eq!(says.len(), 1);
    assert_eq!((says[0].text.as_str(), says[0].seq, says[0].last), (SEEN[1], 1, true));
    assert_eq!(out.reply().text, SEEN.join(" "));
    assert!(brain.event(300, vision_sentence(&call, 1, SEEN[1])).is_empty(), "the overtaken sentence is not said twice");
}

#[test]
fn a_failure_is_spoken_as_the_vision_service_words_it() {
    let mut brain = seeing_brain(config());
    let call = brain.event(0, typed("a", "what do you see")).tool_calls().remove(0);
    let reason = "I can't see anything right now: the camera is busy.";
    let out = brain.event(3_000, look_result(&call, false, reason));
    assert_eq!(out.texts(), [reason]);
    assert!(out.says()[0].last);
}

#[test]
fn without_a_camera_here_or_a_vision_service_the_answer_is_plain_and_immediate() {
    // A vision service, but the only camera is in another room; an LLM is online and is not asked.
    let mut brain = Brain::with_llm(config());
    brain.serve("vision", &[LOOK]);
    camera_at(&mut brain, "hall");
    let out = brain.event(0, typed("a", "what do you see"));
    assert!(out.tool_calls().is_empty() && out.llm_requests().is_empty(), "{out:?}");
    assert_eq!(out.texts(), [phrases::NO_CAMERA]);
    assert_eq!(out.reply().tool.as_deref(), Some(LOOK));

    // A camera here, no vision service.
    let mut brain = Brain::with_llm(config());
    camera_at(&mut brain, SITE);
    let out = brain.event(0, typed("b", "what's in front of you"));
    assert!(out.tool_calls().is_empty() && out.llm_requests().is_empty(), "{out:?}");
    assert_eq!(out.texts(), [phrases::NO_VISION]);

    // The vision service goes offline: the same.
    let mut brain = seeing_brain(config());
    brain.event_at(10, "hub", Inbound::ServiceStatus { service: "vision".into(), state: ServiceState::Offline });
    assert_eq!(brain.event(20, typed("c", "what do you see")).texts(), [phrases::NO_VISION]);
}

#[test]
fn a_camera_switched_off_is_not_asked_until_it_is_switched_on() {
    let mut brain = seeing_brain(config());
    let off = Inbound::CameraEnabled(CameraEnabled { enabled: false });
    assert!(brain.event(0, off).is_empty());
    let out = brain.event(10, spoken("a", "what do you see"));
    assert!(out.tool_calls().is_empty(), "no look while the camera is off");
    assert_eq!(out.texts(), [phrases::CAMERA_OFF]);
    // Another room's switch is its own.
    brain.event_at(20, "hall", Inbound::CameraEnabled(CameraEnabled { enabled: true }));
    assert_eq!(brain.event(30, typed("b", "what do you see")).texts(), [phrases::CAMERA_OFF]);
    brain.event(40, Inbound::CameraEnabled(CameraEnabled { enabled: true }));
    assert_eq!(brain.event(50, typed("c", "what do you see")).tool_calls().remove(0).tool, LOOK);
}

#[test]
fn a_silent_vision_service_ends_in_a_plain_sentence_and_a_stalled_one_keeps_what_it_said() {
    let mut brain = seeing_brain(config());
    let call = brain.event(0, spoken("a", "what do you see")).tool_calls().remove(0);
    assert!(brain.deadline(29_999).is_empty());
    let out = brain.deadline(30_000);
    assert_eq!(out.texts(), [phrases::LOOK_TOO_SLOW]);
    assert_eq!(out.reply().source, ReplySource::Fallback);
    assert!(brain.event(30_100, look_result(&call, true, "Too late.")).is_empty(), "a late result is ignored");

    let call = brain.event(40_000, spoken("b", "what do you see")).tool_calls().remove(0);
    brain.event(45_000, vision_sentence(&call, 0, SEEN[0]));
    let out = brain.deadline(75_000);
    let says = out.says();
    assert_eq!((says.len(), says[0].text.as_str(), says[0].last), (1, "", true), "closed, nothing added");
    assert_eq!(out.reply().text, SEEN[0]);
}

#[test]
fn the_llm_may_call_look_too() {
    let mut brain = seeing_brain(config());
    brain.event(0, Inbound::LlmStatus(ServiceState::Online));
    let request = brain.event(0, typed("a", "is anyone in the room with me")).llm_requests().remove(0);
    let out = brain.event(500, llm(&request, LlmEventKind::ToolCall { tool: LOOK.into(), arguments: json!({"question": "is anyone here?"}) }));
    let call = out.tool_calls().remove(0);
    assert_eq!((call.tool.as_str(), call.arguments.clone()), (LOOK, json!({"question": "is anyone here?"})));
    brain.event(8_000, vision_sentence(&call, 0, "Nobody else is in the room."));
    let out = brain.event(8_100, look_result(&call, true, "Nobody else is in the room."));
    let reply = out.reply();
    assert_eq!((reply.source, reply.tool.as_deref(), reply.text.as_str()), (ReplySource::Tool, Some(LOOK), "Nobody else is in the room."));
    // Remembered as a tool turn, so a follow-up has it.
    let follow_up = brain.event(9_000, typed("b", "and what colour is the wall")).llm_requests().remove(0);
    let tool_message = &follow_up.messages[follow_up.messages.len() - 2];
    assert!(tool_message.content.contains("\"look\"") && tool_message.content.contains("Nobody else"), "{tool_message:?}");

    // Asked by the LLM where there is no camera: the plain sentence, no second LLM pass.
    let mut brain = Brain::with_llm(config());
    let request = brain.event(0, typed("c", "can you see me")).llm_requests().remove(0);
    let out = brain.event(500, llm(&request, LlmEventKind::ToolCall { tool: LOOK.into(), arguments: json!({}) }));
    assert!(out.tool_calls().is_empty() && out.llm_requests().is_empty());
    assert_eq!(out.texts(), [phrases::NO_CAMERA]);
    assert_eq!(out.reply().source, ReplySource::Tool);
}
