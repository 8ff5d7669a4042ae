//! The `[tools]` table of the node file.

use serde::{Deserialize, Serialize};

use crate::clock::Clock;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolsConfig {
    /// Fixed UTC offset in minutes for spoken times; absent means the machine's local time zone.
    pub utc_offset_minutes: Option<i32>,
}

impl ToolsConfig {
    pub fn clock(&self) -> Clock {
        Clock::now(self.utc_offset_minutes)
    }
}
