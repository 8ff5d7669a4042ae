//! Integration tests of the tools service against local HTTP servers and a real broker.

mod bus;
mod weather;
mod wikipedia;
