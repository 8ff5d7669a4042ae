//! Wake word tests: the engine on stand-in and real models, parity with the Python reference, and the
//! service on a real broker.

mod engine_real;
mod engine_standin;
mod parity;
mod rooms;
mod service;
mod util;
