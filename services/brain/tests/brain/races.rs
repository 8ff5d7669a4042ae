//! Events that the broker may deliver in either order, and turns that overtake each other.

use hearth_brain::phrases;
use hearth_brain::BrainConfig;
use hearth_bus::asr::NotHeardReason;
use hearth_bus::brain::{AssistantState, ReplySource};
use hearth_bus::listen::EndReason;

use crate::util::*;

/// A capture's transcript is due within `brain.transcript_timeout_ms`; a transcript that overtakes its
/// `listen/ended` (the broker orders topics separately) is still answered once, and never timed out.
#[test]
fn a_capture_without_a_transcript_is_answered_and_a_late_end_changes_nothing() {
    let mut brain = Brain::new(BrainConfig { transcript_timeout_ms: 600, ..Default::default() });

    // Speech recognition never answers: a short reason instead of a silent assistant.
    assert_eq!(brain.event(0, started("lost")).states(), [AssistantState::Listening]);
    assert_eq!(brain.event(100, ended("lost", EndReason::Silence)).states(), [AssistantState::Thinking]);
    assert_eq!(brain.next_deadline_ms(), Some(700));
    assert!(brain.deadline(699).is_empty());
    let out = brain.deadline(700);
    let reply = out.reply();
    assert_eq!((reply.session_id.as_str(), reply.text.as_str(), reply.source), ("lost", phrases::ASR_DOWN, ReplySource::Fallback));
    assert_eq!(out.texts(), [phrases::ASR_DOWN]);

    // The transcript arrives before its capture's end: one answer, and the late end opens no wait.
    brain.event(1000, started("fast"));
    // No language model runs here: the honest fallback is the one answer.
    let reply = brain.event(1100, spoken("fast", "tell me a joke")).reply();
    assert_eq!((reply.session_id.as_str(), reply.text.as_str()), ("fast", phrases::NO_LLM));
    assert!(brain.event(1200, ended("fast", EndReason::Silence)).is_empty());
    // Long past the transcript deadline, only the reply's playback wait ends (no speaker answered).
    let later = brain.deadline(1200 + 600 + 200_000);
    assert!(later.replies().is_empty(), "{later:?}");
    assert_eq!(later.states(), [AssistantState::Idle]);
    assert_eq!(brain.next_deadline_ms(), None);
}

#[test]
fn a_transcript_after_its_end_is_answered_and_the_wait_is_over() {
    let mut brain = Brain::new(BrainConfig { transcript_timeout_ms: 600, ..Default::default() });
    brain.event(0, started("s"));
    brain.event(100, ended("s", EndReason::MaxLength));
    let out = brain.event(500, spoken("s", "what time is it"));
    assert_eq!(out.tool_calls()[0].tool, "get_time");
    // The transcript wait is gone; what is left is the tool's own deadline (10 s by default).
    assert_eq!(brain.next_deadline_ms(), Some(10_500));
    assert!(brain.deadline(700).is_empty());
}

#[test]
fn not_heard_answers_the_capture_and_a_late_end_opens_no_wait() {
    let mut brain = Brain::new(BrainConfig::default());
    brain.event(0, started("s"));
    brain.event(100, ended("s", EndReason::Silence));
    let out = brain.event(200, not_heard("s", NotHeardReason::NonSpeech));
    assert_eq!(out.texts(), [phrases::NOT_CAUGHT]);
    assert_eq!(out.reply().source, ReplySource::Fallback);
    // Only the playback deadline remains: the transcript wait was answered.
    assert_eq!(brain.next_deadline_ms(), Some(200 + 120_000));

    // Recognition unavailable is said as such; the end arriving after it changes nothing.
    brain.event(1000, started("t"));
    let out = brain.event(1100, not_heard("t", NotHeardReason::Unavailable));
    assert_eq!(out.texts(), [phrases::ASR_DOWN]);
    assert!(brain.event(1200, ended("t", EndReason::Silence)).is_empty());
}

#[test]
fn a_capture_without_speech_goes_back_to_idle() {
    let mut brain = Brain::new(BrainConfig::default());
    assert_eq!(brain.event(0, wake("s")).states(), [AssistantState::Listening]);
    // The wake word and the listener both say "listening": published once.
    assert!(brain.event(10, started("s")).is_empty());
    let out = brain.event(5000, ended("s", EndReason::NoSpeech));
    assert_eq!(out.states(), [AssistantState::Idle]);
    assert_eq!(brain.next_deadline_ms(), None);
}

#[test]
fn a_new_request_supersedes_an_unfinished_one() {
    let mut brain = Brain::with_llm(BrainConfig::default());
    let first = brain.event(0, spoken("a", "tell me a story")).llm_requests().remove(0);
    brain.event(100, sentence(&first, "Once upon a time."));
    // The user asks something else before the story is done.
    let call = brain.event(200, spoken("b", "what time is it")).tool_calls().remove(0);
    // The old request's late answers match nothing.
    assert!(brain.event(300, sentence(&first, "There was a hearth.")).is_empty());
    assert!(brain.event(310, done(&first)).is_empty());
    let out = brain.event(400, result(&call, "It's 3:00 PM.", None));
    assert_eq!(out.reply().session_id, "b");
    assert_eq!(out.texts(), ["It's 3:00 PM."]);
    // The old turn's deadlines died with it.
    assert!(brain.deadline(100_000).replies().is_empty());
}

#[test]
fn a_late_tool_result_of_a_superseded_turn_is_ignored() {
    let mut brain = Brain::new(BrainConfig::default());
    let old = brain.event(0, typed("a", "what's the date")).tool_calls().remove(0);
    let new = brain.event(100, typed("b", "what time is it")).tool_calls().remove(0);
    assert_ne!(old.call_id, new.call_id);
    assert!(brain.event(200, result(&old, "Today is Monday.", None)).is_empty());
    assert_eq!(brain.event(300, result(&new, "It's noon.", None)).reply().session_id, "b");
}

#[test]
fn sites_are_independent() {
    let mut brain = Brain::new(BrainConfig::default());
    let call = brain.event_at(0, "kitchen", typed("k", "what time is it")).tool_calls().remove(0);
    // The office's turn does not supersede the kitchen's.
    let out = brain.event_at(10, "office", typed("o", "set a timer"));
    assert_eq!(out.texts(), [HOW_LONG]);
    assert!(out.sites().iter().all(|s| *s == "office"));
    let out = brain.event_at(20, "kitchen", result(&call, "It's noon.", None));
    assert_eq!(out.reply().session_id, "k");
    assert!(out.sites().iter().all(|s| *s == "kitchen"));
}
