//! Integration tests of the model manager against a local HTTP file server.

mod util;

mod import;
mod pull;
mod shared;
