//! `get_time` and `get_date`, spoken; `get_time` also for a named place, in that place's time zone
//! (found by the weather geocoder, converted offline with the IANA database of `chrono-tz`).

use chrono::{DateTime, Datelike, FixedOffset, Local, TimeZone, Timelike, Utc};
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

/// "It's nine oh five AM in Tokyo.", with the weekday when the place is already (or still) on another
/// day than home: "It's one fifteen AM on Tuesday in Tokyo." `None` when `timezone` is not an IANA name.
pub fn time_in_place_sentence(home: &Clock, timezone: &str, place: &str) -> Option<String> {
    let tz: chrono_tz::Tz = timezone.parse().ok()?;
    let there = tz.from_utc_datetime(&home.at.naive_utc());
    let day = if there.date_naive() != home.at.date_naive() { format!(" on {}", there.format("%A")) } else { String::new() };
    Some(format!("It's {}{day} in {place}.", words::clock(there.hour(), there.minute())))
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

    #[test]
    fn speaks_the_time_elsewhere() {
        // 15:05 UTC on Monday 23 November: past midnight in Tokyo, morning in New York.
        let home = at(2026, 11, 23, 15, 5);
        assert_eq!(time_in_place_sentence(&home, "Asia/Tokyo", "Tokyo").unwrap(), "It's twelve oh five AM on Tuesday in Tokyo.");
        assert_eq!(time_in_place_sentence(&home, "America/New_York", "New York").unwrap(), "It's ten oh five AM in New York.");
        // Summer time is the zone's own business: 15:05 UTC in July is 17:05 in Paris.
        let july = at(2026, 7, 1, 15, 5);
        assert_eq!(time_in_place_sentence(&july, "Europe/Paris", "Paris").unwrap(), "It's five oh five PM in Paris.");
        assert!(time_in_place_sentence(&home, "Mars/Olympus", "Olympus").is_none());
    }
}
