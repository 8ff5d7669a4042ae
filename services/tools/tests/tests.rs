//! Integration tests of the tools service against local HTTP servers and a real broker.

mod util;

mod bus;
mod weather;
mod wikipedia;
