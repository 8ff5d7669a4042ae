//! The `[tools]` table of the node file, with `[tools.weather]` and `[tools.wikipedia]` inside it.

use std::time::Duration;

use hearth_node::config::ConfigError;
use hearth_node::NodeFile;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::weather::WeatherConfig;
use crate::wikipedia::WikipediaConfig;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ToolsConfig {
    /// Fixed UTC offset in minutes for spoken times; absent means the machine's local time zone.
    pub utc_offset_minutes: Option<i32>,
    /// The longest one tool call waits on an outside service, all its requests together, in
    /// milliseconds; after that the tool says it could not reach the service.
    pub timeout_ms: u64,
    pub weather: WeatherConfig,
    pub wikipedia: WikipediaConfig,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        Self {
            utc_offset_minutes: None,
            timeout_ms: 4000,
            weather: WeatherConfig::default(),
            wikipedia: WikipediaConfig::default(),
        }
    }
}

impl ToolsConfig {
    /// Reads and checks `[tools]` from the node file.
    pub fn load(file: &NodeFile) -> Result<ToolsConfig, ConfigError> {
        let config: ToolsConfig = file.section("tools")?;
        config.validate().map_err(|(key, why)| file.invalid(key, why))?;
        Ok(config)
    }

    /// Checks every value; the error names the key (`tools.weather.home_latitude`) and says why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if let Some(m) = self.utc_offset_minutes {
            if !(-18 * 60..=18 * 60).contains(&m) {
                return Err(("tools.utc_offset_minutes".into(), "must be within ±1080 minutes (18 hours)".into()));
            }
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            return Err(("tools.timeout_ms".into(), "must be between 100 and 60000 milliseconds".into()));
        }
        self.weather.validate()?;
        self.wikipedia.validate()
    }

    pub fn clock(&self) -> Clock {
        Clock::now(self.utc_offset_minutes)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_tables_and_names_bad_keys() {
        let file = NodeFile::parse(
            "[tools]\ntimeout_ms = 2500\n[tools.weather]\nhome = \"Paris\"\ntemperature_unit = \"fahrenheit\"\n\
             [tools.wikipedia]\nlanguage = \"de\"\n",
            None,
        )
        .unwrap();
        let c = ToolsConfig::load(&file).unwrap();
        assert_eq!(c.timeout(), Duration::from_millis(2500));
        assert_eq!(c.weather.home.as_deref(), Some("Paris"));
        assert_eq!(c.wikipedia.base().unwrap().as_str(), "https://de.wikipedia.org/");

        let file = NodeFile::parse("[tools.weather]\nwind_speed_unit = \"furlongs\"\n", None).unwrap();
        let err = ToolsConfig::load(&file).unwrap_err().to_string();
        assert!(err.contains("[tools]") && err.contains("furlongs"), "{err}");
        let file = NodeFile::parse("[tools]\ntimeout_ms = 0\n", None).unwrap();
        let err = ToolsConfig::load(&file).unwrap_err().to_string();
        assert!(err.contains("tools.timeout_ms"), "{err}");
    }
}
