//! One module per subcommand.

pub mod announce;
pub mod bench;
pub mod broker;
pub mod intents;
pub mod import;
pub mod models;
pub mod satellite;
pub mod say;
pub mod sibling;
pub mod speak;
pub mod tap;
pub mod up;
pub mod wake;
pub mod wakeword;
