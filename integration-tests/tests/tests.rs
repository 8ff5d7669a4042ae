//! Hearth's whole-system tests: one entry file, one module per topic, shared helpers in the crate.

mod chimes;
mod conversation;
mod failures;
mod llm_flow;
mod malformed;
mod privacy;
mod real_voice;
mod reconnect;
mod rooms;
mod timers;
mod voice_turn;
mod web_browser;
mod whole_turn;
