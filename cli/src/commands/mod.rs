//! One module per subcommand.

pub mod bench;
pub mod broker;
pub mod intents;
pub mod models;
pub mod say;
pub mod sibling;
pub mod tap;
pub mod up;
