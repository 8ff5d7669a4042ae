//! Every wait ends: at its deadline, a timed-out turn says a short reason instead of leaving silence.

use hearth_brain::phrases;
use hearth_brain::BrainConfig;
use hearth_bus::brain::{AssistantState, ReplySource};
use hearth_bus::llm::LlmEventKind;

use crate::util::*;

#[test]
fn a_silent_llm_times_out_with_a_plain_sentence() {
    let mut brain = Brain::with_llm(BrainConfig { llm_first_event_timeout_ms: 500, ..Default::default() });
    brain.event(0, spoken("s2", "a slow question"));
    assert!(brain.deadline(499).is_empty());
    let out = brain.deadline(500);
    assert_eq!(out.texts(), [phrases::TOO_SLOW]);
    assert_eq!(out.reply().source, ReplySource::Fallback);
    // An empty answer is an honest "I don't know", not silence.
    let request = brain.event(1000, spoken("s3", "something the model has nothing for")).llm_requests().remove(0);
    let out = brain.event(1010, done(&request));
    assert_eq!(out.texts(), [phrases::DONT_KNOW]);
}

#[test]
fn an_llm_that_stops_mid_answer_keeps_what_it_said() {
    let config = BrainConfig { llm_first_event_timeout_ms: 500, llm_idle_timeout_ms: 300, ..Default::default() };
    let mut brain = Brain::with_llm(config);
    let request = brain.event(0, spoken("s", "tell me a story")).llm_requests().remove(0);
    // A first sentence moves the deadline from the first-event timeout to the idle timeout.
    brain.event(400, sentence(&request, "Once upon a time."));
    assert_eq!(brain.next_deadline_ms(), Some(700));
    assert!(brain.deadline(699).is_empty());
    let out = brain.deadline(700);
    // The utterance is closed with an empty last sentence; no apology is appended.
    let says = out.says();
    assert_eq!((says.len(), says[0].text.as_str(), says[0].last, says[0].seq), (1, "", true, 1));
    let reply = out.reply();
    assert_eq!((reply.text.as_str(), reply.source), ("Once upon a time.", ReplySource::Llm));
    assert_eq!(out.states(), [AssistantState::Speaking]);
}

#[test]
fn an_llm_error_is_said_plainly_or_ends_what_was_said() {
    let mut brain = Brain::with_llm(BrainConfig::default());
    let request = brain.event(0, spoken("a", "a question")).llm_requests().remove(0);
    let out = brain.event(10, llm(&request, LlmEventKind::Error { message: "context overflow".into() }));
    assert_eq!(out.texts(), [phrases::LLM_FAILED]);

    let request = brain.event(100, spoken("b", "another question")).llm_requests().remove(0);
    brain.event(110, sentence(&request, "Well."));
    let out = brain.event(120, llm(&request, LlmEventKind::Error { message: "crashed".into() }));
    assert_eq!(out.texts(), [""]);
    assert_eq!(out.reply().text, "Well.");
}

#[test]
fn a_tool_that_never_answers_times_out() {
    let mut brain = Brain::new(BrainConfig { tool_timeout_ms: 400, ..Default::default() });
    let call = brain.event(0, typed("s", "what time is it")).tool_calls().remove(0);
    assert!(brain.deadline(399).is_empty());
    let out = brain.deadline(400);
    assert_eq!(out.texts(), [phrases::TOO_SLOW]);
    let reply = out.reply();
    assert_eq!((reply.source, reply.tool.as_deref()), (ReplySource::Fallback, Some("get_time")));
    // Its result, when it finally comes, is not spoken twice.
    assert!(brain.event(500, result(&call, "It's noon.", None)).is_empty());
}

#[test]
fn a_reply_nobody_plays_goes_back_to_idle() {
    let mut brain = Brain::new(BrainConfig { playback_timeout_ms: 1000, ..Default::default() });
    let call = brain.event(0, spoken("s", "what time is it")).tool_calls().remove(0);
    assert_eq!(brain.event(50, result(&call, "It's noon.", None)).states(), [AssistantState::Speaking]);
    assert_eq!(brain.next_deadline_ms(), Some(1050));
    assert!(brain.deadline(1049).is_empty());
    assert_eq!(brain.deadline(1050).states(), [AssistantState::Idle]);
    assert_eq!(brain.next_deadline_ms(), None);
}

#[test]
fn the_next_deadline_is_the_earliest_of_all_sites() {
    let mut brain = Brain::new(BrainConfig { tool_timeout_ms: 400, transcript_timeout_ms: 900, ..Default::default() });
    brain.event_at(0, "office", ended("o", hearth_bus::listen::EndReason::Silence));
    brain.event_at(100, "kitchen", typed("k", "what time is it"));
    assert_eq!(brain.next_deadline_ms(), Some(500));
    let out = brain.deadline(500);
    assert_eq!(out.texts(), [phrases::TOO_SLOW]);
    assert!(out.sites().iter().all(|s| *s == "kitchen"));
    // The office's transcript wait comes before the kitchen reply's playback wait.
    assert_eq!(brain.next_deadline_ms(), Some(900));
    let out = brain.deadline(900);
    assert_eq!(out.texts(), [phrases::ASR_DOWN]);
    assert!(out.sites().iter().all(|s| *s == "office"));
}
