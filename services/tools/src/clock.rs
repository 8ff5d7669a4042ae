//! `get_time` and `get_date`, spoken.

use chrono::{DateTime, Datelike, FixedOffset, Local, Timelike, Utc};
use hearth_node::words;

/// A moment in the house's time zone.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub at: DateTime<FixedOffset>,
}

impl Clock {
    /// Now, at a fixed UTC offset in minutes, or in the machine's local zone.
    pub fn now(utc_offset_minutes: Option<i32>) -> Clock {
        let at = match utc_offset_minutes.and_then(|m| FixedOffset::east_opt(m * 60)) {
            Some(offset) => Utc::now().with_timezone(&offset),
            None => Local::now().fixed_offset(),
        };
        Clock { at }
    }
}

/// "It's three oh five PM."
pub fn time_sentence(clock: &Clock) -> String {
    format!("It's {}.", words::clock(clock.at.hour(), clock.at.minute()))
}

/// "Today is Monday, November twenty-third."
pub fn date_sentence(clock: &Clock) -> String {
    format!("Today is {}, {} {}.", clock.at.format("%A"), clock.at.format("%B"), words::ordinal(clock.at.day()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Clock {
        Clock { at: FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap() }
    }

    #[test]
    fn speaks_time_and_date() {
        assert_eq!(time_sentence(&at(2026, 11, 23, 15, 5)), "It's three oh five PM.");
        assert_eq!(date_sentence(&at(2026, 11, 23, 15, 5)), "Today is Monday, November twenty-third.");
    }
}
