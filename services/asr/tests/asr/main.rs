//! hearth-asr against real whisper.cpp: the generated "hello world" model, whisper.cpp's weightless
//! test file, broken files, and the service on a real broker.

mod engine;
mod service;
mod util;
