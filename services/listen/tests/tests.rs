//! Listening tests: the endpointer on real Silero VAD and on the energy stand-in, and the service on a
//! real broker.

mod endpointer;
mod service;
