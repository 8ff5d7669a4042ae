//! The brain's tests: the conversation state machine with explicit instants (no broker, no sleeps, so
//! every race and deadline runs in milliseconds), and the service on a real broker.

mod deadlines;
mod handoff_on_broker;
mod intents;
mod llm;
mod local;
mod look;
mod look_on_broker;
mod messages;
mod on_broker;
mod races;
mod state;
mod util;
