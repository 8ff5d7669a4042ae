//! The retained assistant state: published only when it changes, and a state a previous run left behind
//! (a brain that died mid-reply) reset to idle.

use hearth_brain::BrainConfig;
use hearth_bus::brain::AssistantState;

use crate::util::*;

#[test]
fn a_state_left_by_an_earlier_run_is_reset_to_idle() {
    let mut brain = Brain::new(BrainConfig::default());
    let out = brain.event_at(0, "kitchen", state(AssistantState::Speaking));
    assert_eq!(out.states(), [AssistantState::Idle]);
    assert_eq!(out.sites(), ["kitchen"]);
    // Every site on its own; an idle one is left alone.
    assert_eq!(brain.event_at(0, "office", state(AssistantState::Thinking)).states(), [AssistantState::Idle]);
    assert!(brain.event_at(0, "garage", state(AssistantState::Idle)).is_empty());
    // And a later turn there starts from idle: "thinking" is published, idle is not repeated.
    let out = brain.event_at(10, "garage", typed("g", "stop"));
    assert_eq!(out.states(), [AssistantState::Thinking, AssistantState::Idle]);
}

#[test]
fn the_brains_own_states_coming_back_change_nothing() {
    let mut brain = Brain::new(BrainConfig::default());
    assert_eq!(brain.event(0, wake("s")).states(), [AssistantState::Listening]);
    // Its own retained "listening" (or a stale one arriving after this run's first state) is not reset.
    assert!(brain.event(5, state(AssistantState::Listening)).is_empty());
    assert!(brain.event(6, state(AssistantState::Speaking)).is_empty());
}
