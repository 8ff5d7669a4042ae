//! hearth-asr against real whisper.cpp: the generated "hello world" model, whisper.cpp's weightless
//! test file, broken files, the service on a real broker, and the real tiny.en and base weights.

mod engine;
mod real;
mod service;
mod util;
