//! Answers to the weather questions people ask most after "what's the weather": "will it rain?", "do I
//! need an umbrella?", "will it snow?", "how cold is it?". Each is one sentence that answers the question
//! first ("Yes, …", "No, …") and says where and when.

use crate::weather::{degrees, Day, Observation, Place};

/// What `get_weather` is asked (`question` argument; absent means the general report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    General,
    Rain,
    Snow,
    Temperature,
}

impl Question {
    pub fn parse(arg: Option<&str>) -> Option<Question> {
        match arg.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("general") | Some("weather") => Some(Question::General),
            Some("rain") | Some("umbrella") | Some("precipitation") => Some(Question::Rain),
            Some("snow") => Some(Question::Snow),
            Some("temperature") => Some(Question::Temperature),
            Some(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Question::General => "general",
            Question::Rain => "rain",
            Question::Snow => "snow",
            Question::Temperature => "temperature",
        }
    }
}

/// WMO codes with rain, drizzle, showers or thunder.
fn rainy(code: Option<u16>) -> bool {
    code.is_some_and(|c| matches!(c, 51..=67 | 80..=82 | 95..=99))
}

/// WMO codes with snow.
fn snowy(code: Option<u16>) -> bool {
    code.is_some_and(|c| matches!(c, 71..=77 | 85 | 86))
}

/// "a 40", "an 80", "an 18": the article as the number is spoken.
fn a(n: u32) -> String {
    let an = matches!(n, 8 | 11 | 18 | 80..=89);
    format!("{} {n}", if an { "an" } else { "a" })
}

/// " in Paris", or "" for home given only by coordinates.
fn at(place: &Place) -> String {
    place.name.as_ref().map(|n| format!(" in {n}")).unwrap_or_default()
}

/// "today", "tomorrow", "right now".
fn when(day: Day) -> &'static str {
    match day {
        Day::Now => "right now",
        Day::Today => "today",
        Day::Tomorrow => "tomorrow",
    }
}

/// The sentence for `question` (not [`Question::General`], which is `weather::sentence`).
pub fn sentence(question: Question, place: &Place, o: &Observation) -> String {
    match question {
        Question::Rain => rain(place, o),
        Question::Snow => snow(place, o),
        Question::Temperature | Question::General => temperature(place, o),
    }
}

fn rain(place: &Place, o: &Observation) -> String {
    let (at, when) = (at(place), when(o.day));
    if o.day == Day::Now {
        let wet = rainy(o.weather_code) || o.precipitation.is_some_and(|p| p >= 0.1 && !snowy(o.weather_code));
        return if wet {
            format!("Yes, it's raining{at} {when}.")
        } else {
            format!("No, it isn't raining{at} {when}.")
        };
    }
    match o.rain_chance.map(|c| c.round() as u32) {
        Some(c) if c >= 60 || (c >= 30 && rainy(o.weather_code)) => {
            format!("Yes, rain is likely{at} {when}, {} percent chance. Take an umbrella.", a(c))
        }
        Some(c) if c >= 30 => format!("Maybe: there's {} percent chance of rain{at} {when}.", a(c)),
        Some(c) => format!("No, rain isn't expected{at} {when}, only a {c} percent chance."),
        None if rainy(o.weather_code) => format!("Yes, rain is expected{at} {when}. Take an umbrella."),
        None => format!("No, rain isn't expected{at} {when}."),
    }
}

fn snow(place: &Place, o: &Observation) -> String {
    let (at, when) = (at(place), when(o.day));
    let falling = snowy(o.weather_code) || o.snowfall.is_some_and(|s| s >= 0.1);
    match (o.day, falling) {
        (Day::Now, true) => format!("Yes, it's snowing{at} {when}."),
        (Day::Now, false) => format!("No, it isn't snowing{at} {when}."),
        (_, true) => format!("Yes, snow is expected{at} {when}."),
        (_, false) => format!("No, snow isn't expected{at} {when}."),
    }
}

fn temperature(place: &Place, o: &Observation) -> String {
    let at = at(place);
    match (o.day, o.temperature, o.low, o.high) {
        (Day::Now, Some(t), _, _) => format!("It's {} degrees{}.", degrees(t), if at.is_empty() { " outside".into() } else { at }),
        (day, _, Some(low), Some(high)) => {
            let when = if day == Day::Today { "Today" } else { "Tomorrow" };
            let (low, high) = (degrees(low), degrees(high));
            if low == high {
                format!("{when}{at}: around {high} degrees.")
            } else {
                format!("{when}{at}: a low of {low} and a high of {high} degrees.")
            }
        }
        _ => "I couldn't get the temperature just now.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> Place {
        Place { name: Some("Paris".into()), country: None, latitude: 0.0, longitude: 0.0, timezone: None }
    }

    fn day(day: Day, chance: Option<f64>, code: Option<u16>) -> Observation {
        Observation { rain_chance: chance, weather_code: code, low: Some(8.4), high: Some(15.0), ..Observation::empty(day) }
    }

    #[test]
    fn answers_rain_questions() {
        let p = paris();
        assert_eq!(rain(&p, &day(Day::Tomorrow, Some(80.0), Some(61))), "Yes, rain is likely in Paris tomorrow, an 80 percent chance. Take an umbrella.");
        assert_eq!(rain(&p, &day(Day::Today, Some(40.0), Some(3))), "Maybe: there's a 40 percent chance of rain in Paris today.");
        assert_eq!(rain(&p, &day(Day::Today, Some(5.0), Some(0))), "No, rain isn't expected in Paris today, only a 5 percent chance.");
        assert_eq!(rain(&p, &day(Day::Today, None, Some(63))), "Yes, rain is expected in Paris today. Take an umbrella.");
        let now = Observation { precipitation: Some(0.6), ..Observation::empty(Day::Now) };
        assert_eq!(rain(&p, &now), "Yes, it's raining in Paris right now.");
        let home = Place { name: None, ..paris() };
        assert_eq!(rain(&home, &Observation::empty(Day::Now)), "No, it isn't raining right now.");
    }

    #[test]
    fn answers_snow_and_temperature_questions() {
        let p = paris();
        let snowy = Observation { snowfall: Some(2.0), ..Observation::empty(Day::Tomorrow) };
        assert_eq!(snow(&p, &snowy), "Yes, snow is expected in Paris tomorrow.");
        assert_eq!(snow(&p, &Observation::empty(Day::Now)), "No, it isn't snowing in Paris right now.");
        let now = Observation { temperature: Some(-0.6), ..Observation::empty(Day::Now) };
        assert_eq!(temperature(&p, &now), "It's minus 1 degrees in Paris.");
        assert_eq!(temperature(&p, &day(Day::Tomorrow, None, None)), "Tomorrow in Paris: a low of 8 and a high of 15 degrees.");
        assert_eq!(Question::parse(Some("Umbrella")), Some(Question::Rain));
        assert_eq!(Question::parse(Some("hail")), None);
    }
}
