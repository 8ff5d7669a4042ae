//! `get_weather` through Open-Meteo (no key): a place name goes to the geocoding API, its coordinates to
//! the forecast API, and the answer becomes one sentence: "It's 14 degrees and cloudy in Paris." or
//! "Tomorrow in Paris: light rain, between 9 and 15 degrees." Questions about rain, snow or the temperature
//! get their own sentences ([`crate::outlook`]).

use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use thiserror::Error;

use crate::http::{FetchError, Http};
use crate::outlook::{self, Question};

/// The `[tools.weather]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeatherConfig {
    /// Open-Meteo geocoding endpoint (place name → coordinates).
    pub geocoding_url: String,
    /// Open-Meteo forecast endpoint.
    pub forecast_url: String,
    /// `celsius` or `fahrenheit`.
    pub temperature_unit: TemperatureUnit,
    /// `kmh`, `mph`, `ms` (metres per second) or `kn` (knots).
    pub wind_speed_unit: WindSpeedUnit,
    /// Home, by name ("Paris" or "Paris, France"), used when no place is asked for. With
    /// `home_latitude`/`home_longitude` it is only the name spoken.
    pub home: Option<String>,
    /// Home latitude in degrees (−90..90); needs `home_longitude`. Saves the geocoding lookup.
    pub home_latitude: Option<f64>,
    /// Home longitude in degrees (−180..180); needs `home_latitude`.
    pub home_longitude: Option<f64>,
    /// Language of place names returned by the geocoder (ISO 639-1, e.g. `en`).
    pub language: String,
}

impl Default for WeatherConfig {
    fn default() -> Self {
        Self {
            geocoding_url: "https://geocoding-api.open-meteo.com/v1/search".into(),
            forecast_url: "https://api.open-meteo.com/v1/forecast".into(),
            temperature_unit: TemperatureUnit::Celsius,
            wind_speed_unit: WindSpeedUnit::Kmh,
            home: None,
            home_latitude: None,
            home_longitude: None,
            language: "en".into(),
        }
    }
}

impl WeatherConfig {
    /// Checks the table; errors name the key under `tools.weather`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let key = |k: &str| format!("tools.weather.{k}");
        crate::http::parse_base(&self.geocoding_url).map_err(|why| (key("geocoding_url"), why))?;
        crate::http::parse_base(&self.forecast_url).map_err(|why| (key("forecast_url"), why))?;
        match (self.home_latitude, self.home_longitude) {
            (None, None) => {}
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    return Err((key("home_latitude"), "must be between -90 and 90 degrees".into()));
                }
                if !(-180.0..=180.0).contains(&lon) {
                    return Err((key("home_longitude"), "must be between -180 and 180 degrees".into()));
                }
            }
            (Some(_), None) => return Err((key("home_longitude"), "is needed with home_latitude".into())),
            (None, Some(_)) => return Err((key("home_latitude"), "is needed with home_longitude".into())),
        }
        if self.home.as_deref().is_some_and(|h| h.trim().is_empty()) {
            return Err((key("home"), "is empty; leave it out or name a place".into()));
        }
        if self.language.len() != 2 || !self.language.chars().all(|c| c.is_ascii_lowercase()) {
            return Err((key("language"), "must be a two-letter language code such as \"en\"".into()));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TemperatureUnit {
    Celsius,
    Fahrenheit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindSpeedUnit {
    Kmh,
    Mph,
    Ms,
    Kn,
}

impl TemperatureUnit {
    fn api(self) -> &'static str {
        match self {
            TemperatureUnit::Celsius => "celsius",
            TemperatureUnit::Fahrenheit => "fahrenheit",
        }
    }
}

impl WindSpeedUnit {
    fn api(self) -> &'static str {
        match self {
            WindSpeedUnit::Kmh => "kmh",
            WindSpeedUnit::Mph => "mph",
            WindSpeedUnit::Ms => "ms",
            WindSpeedUnit::Kn => "kn",
        }
    }

    fn spoken(self, n: i64) -> String {
        let (one, many) = match self {
            WindSpeedUnit::Kmh => ("kilometer per hour", "kilometers per hour"),
            WindSpeedUnit::Mph => ("mile per hour", "miles per hour"),
            WindSpeedUnit::Ms => ("meter per second", "meters per second"),
            WindSpeedUnit::Kn => ("knot", "knots"),
        };
        format!("{n} {}", if n == 1 { one } else { many })
    }
}

/// Which weather is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    Now,
    Today,
    Tomorrow,
}

impl Day {
    /// The tool argument; absent means now.
    pub fn parse(arg: Option<&str>) -> Option<Day> {
        match arg.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("now") | Some("current") | Some("currently") => Some(Day::Now),
            Some("today") => Some(Day::Today),
            Some("tomorrow") => Some(Day::Tomorrow),
            Some(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Day::Now => "now",
            Day::Today => "today",
            Day::Tomorrow => "tomorrow",
        }
    }
}

#[derive(Debug, Error)]
pub enum WeatherError {
    #[error("no place called {0}")]
    UnknownPlace(String),
    #[error("no home place configured")]
    NoHome,
    #[error("unsupported day {0}")]
    UnsupportedDay(String),
    #[error("weather service: {0}")]
    Fetch(#[from] FetchError),
}

impl WeatherError {
    /// What the assistant says instead.
    pub fn sentence(&self) -> String {
        match self {
            WeatherError::UnknownPlace(name) => format!("I couldn't find a place called {name}."),
            WeatherError::NoHome => {
                "I don't know where home is yet. Tell me a place, or set home under tools.weather in the config."
                    .into()
            }
            WeatherError::UnsupportedDay(_) => "I can only tell the weather for now, today or tomorrow.".into(),
            WeatherError::Fetch(e) if e.is_unreachable() => unreachable_sentence(),
            WeatherError::Fetch(_) => "The weather service sent an answer I couldn't read.".into(),
        }
    }
}

/// Spoken when the weather service does not answer in time.
pub fn unreachable_sentence() -> String {
    "I couldn't reach the weather service right now.".into()
}

/// A place with coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Spoken name; `None` for home given only by coordinates.
    pub name: Option<String>,
    pub country: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    /// IANA time zone ("Europe/Paris"), when the geocoder knows it.
    pub timezone: Option<String>,
}

/// What the forecast API said, reduced to what is spoken.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub day: Day,
    /// Current temperature (now) in the configured unit.
    pub temperature: Option<f64>,
    /// Daily low and high (today, tomorrow) in the configured unit.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// WMO weather interpretation code.
    pub weather_code: Option<u16>,
    /// Current wind speed (now) in the configured unit.
    pub wind_speed: Option<f64>,
    /// Highest chance of precipitation over the day (today, tomorrow), percent.
    pub rain_chance: Option<f64>,
    /// Precipitation: the last hour (now) or the day's sum (today, tomorrow), millimetres.
    pub precipitation: Option<f64>,
    /// Snowfall: the last hour (now) or the day's sum (today, tomorrow), centimetres.
    pub snowfall: Option<f64>,
}

impl Observation {
    /// Nothing known yet about `day`.
    pub fn empty(day: Day) -> Observation {
        Observation {
            day,
            temperature: None,
            low: None,
            high: None,
            weather_code: None,
            wind_speed: None,
            rain_chance: None,
            precipitation: None,
            snowfall: None,
        }
    }
}

/// A finished weather answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub place: Place,
    pub observation: Observation,
    pub sentence: String,
    pub data: Value,
}

/// Looks up the weather for `location` (home when absent) on `day`, and answers `question`.
pub async fn lookup(
    http: &Http,
    config: &WeatherConfig,
    location: Option<&str>,
    day: Day,
    question: Question,
) -> Result<Report, WeatherError> {
    let place = match location.map(str::trim).filter(|l| !l.is_empty() && !is_home_word(l)) {
        Some(name) => geocode(http, config, name).await?,
        None => home(http, config).await?,
    };
    let observation = forecast(http, config, &place, day).await?;
    let sentence = match question {
        Question::General => sentence(&place, &observation, config),
        _ => outlook::sentence(question, &place, &observation),
    };
    let data = json!({
        "location": place.name,
        "country": place.country,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "day": day.as_str(),
        "temperature": observation.temperature,
        "low": observation.low,
        "high": observation.high,
        "temperature_unit": config.temperature_unit.api(),
        "weather_code": observation.weather_code,
        "condition": observation.weather_code.and_then(condition).map(|c| c.day),
        "wind_speed": observation.wind_speed,
        "wind_speed_unit": config.wind_speed_unit.api(),
        "question": question.as_str(),
        "rain_chance": observation.rain_chance,
        "precipitation": observation.precipitation,
        "snowfall": observation.snowfall,
    });
    Ok(Report { place, observation, sentence, data })
}

fn is_home_word(s: &str) -> bool {
    matches!(s.to_ascii_lowercase().as_str(), "home" | "here" | "outside" | "at home")
}

async fn home(http: &Http, config: &WeatherConfig) -> Result<Place, WeatherError> {
    match (config.home_latitude, config.home_longitude, config.home.as_deref()) {
        (Some(latitude), Some(longitude), name) => {
            Ok(Place { name: name.map(str::to_owned), country: None, latitude, longitude, timezone: None })
        }
        (_, _, Some(name)) => geocode(http, config, name).await,
        _ => Err(WeatherError::NoHome),
    }
}

#[derive(Debug, Deserialize)]
struct GeocodingAnswer {
    /// Absent (not empty) when nothing matches.
    #[serde(default)]
    results: Vec<GeocodingResult>,
}

#[derive(Debug, Deserialize)]
struct GeocodingResult {
    name: String,
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
    #[serde(default)]
    admin1: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
}

/// The geocoder matches names only, so "Paris, Texas" is searched as "Paris" and the qualifier picks
/// among the candidates (country, country code or region).
pub async fn geocode(http: &Http, config: &WeatherConfig, asked: &str) -> Result<Place, WeatherError> {
    let (name, qualifier) = match asked.split_once(',') {
        Some((n, q)) if !n.trim().is_empty() && !q.trim().is_empty() => (n.trim(), Some(q.trim().to_lowercase())),
        _ => (asked.trim_matches(|c: char| c == ',' || c.is_whitespace()), None),
    };
    let count = if qualifier.is_some() { "10" } else { "1" };
    let mut url = Url::parse(&config.geocoding_url).map_err(|e| FetchError::Malformed(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("name", name)
        .append_pair("count", count)
        .append_pair("language", &config.language)
        .append_pair("format", "json");
    let answer: GeocodingAnswer = http.json(url).await?;
    let chosen = match &qualifier {
        Some(q) => answer.results.iter().find(|r| {
            [&r.country, &r.country_code, &r.admin1].iter().any(|f| f.as_deref().is_some_and(|v| v.to_lowercase() == *q))
        }),
        None => answer.results.first(),
    };
    let r = chosen.ok_or_else(|| WeatherError::UnknownPlace(asked.trim().to_owned()))?;
    if !(-90.0..=90.0).contains(&r.latitude) || !(-180.0..=180.0).contains(&r.longitude) {
        return Err(FetchError::Malformed("coordinates out of range".into()).into());
    }
    Ok(Place {
        name: Some(r.name.clone()),
        country: r.country.clone(),
        latitude: r.latitude,
        longitude: r.longitude,
        timezone: r.timezone.clone(),
    })
}

#[derive(Debug, Deserialize)]
struct ForecastAnswer {
    #[serde(default)]
    current: Option<CurrentBlock>,
    #[serde(default)]
    daily: Option<DailyBlock>,
}

#[derive(Debug, Deserialize)]
struct CurrentBlock {
    #[serde(default)]
    temperature_2m: Option<f64>,
    #[serde(default)]
    weather_code: Option<f64>,
    #[serde(default)]
    wind_speed_10m: Option<f64>,
    #[serde(default)]
    precipitation: Option<f64>,
    #[serde(default)]
    snowfall: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct DailyBlock {
    #[serde(default)]
    weather_code: Vec<Option<f64>>,
    #[serde(default)]
    temperature_2m_max: Vec<Option<f64>>,
    #[serde(default)]
    temperature_2m_min: Vec<Option<f64>>,
    #[serde(default)]
    precipitation_probability_max: Vec<Option<f64>>,
    #[serde(default)]
    precipitation_sum: Vec<Option<f64>>,
    #[serde(default)]
    snowfall_sum: Vec<Option<f64>>,
}

async fn forecast(http: &Http, config: &WeatherConfig, place: &Place, day: Day) -> Result<Observation, WeatherError> {
    let mut url = Url::parse(&config.forecast_url).map_err(|e| FetchError::Malformed(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("latitude", &format!("{:.4}", place.latitude))
        .append_pair("longitude", &format!("{:.4}", place.longitude))
        .append_pair("current", "temperature_2m,weather_code,wind_speed_10m,precipitation,snowfall")
        .append_pair("daily", "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max,precipitation_sum,snowfall_sum")
        .append_pair("temperature_unit", config.temperature_unit.api())
        .append_pair("wind_speed_unit", config.wind_speed_unit.api())
        .append_pair("timezone", "auto")
        .append_pair("forecast_days", "2");
    let answer: ForecastAnswer = http.json(url).await?;
    observation(answer, day).ok_or_else(|| FetchError::Malformed(format!("no {} values in the forecast", day.as_str())).into())
}

fn observation(answer: ForecastAnswer, day: Day) -> Option<Observation> {
    let code = |v: Option<f64>| v.filter(|c| c.is_finite() && (0.0..=99.0).contains(c)).map(|c| c as u16);
    let finite = |v: Option<f64>| v.filter(|t| t.is_finite());
    let amount = |v: Option<f64>| finite(v).filter(|a| *a >= 0.0);
    match day {
        Day::Now => {
            let c = answer.current?;
            let temperature = finite(c.temperature_2m)?;
            Some(Observation {
                day,
                temperature: Some(temperature),
                low: None,
                high: None,
                weather_code: code(c.weather_code),
                wind_speed: finite(c.wind_speed_10m).filter(|w| *w >= 0.0),
                rain_chance: None,
                precipitation: amount(c.precipitation),
                snowfall: amount(c.snowfall),
            })
        }
        Day::Today | Day::Tomorrow => {
            let d = answer.daily?;
            let i = if day == Day::Today { 0 } else { 1 };
            let (low, high) = (finite(*d.temperature_2m_min.get(i)?)?, finite(*d.temperature_2m_max.get(i)?)?);
            let at = |v: &Vec<Option<f64>>| amount(v.get(i).copied().flatten());
            Some(Observation {
                day,
                temperature: None,
                low: Some(low.min(high)),
                high: Some(high.max(low)),
                weather_code: code(d.weather_code.get(i).copied().flatten()),
                wind_speed: None,
                rain_chance: at(&d.precipitation_probability_max).map(|p| p.min(100.0)),
                precipitation: at(&d.precipitation_sum),
                snowfall: at(&d.snowfall_sum),
            })
        }
    }
}

/// A weather code in words: `now` completes "It's 14 degrees …", `day` stands alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition {
    pub now: &'static str,
    pub day: &'static str,
}

/// WMO weather interpretation codes as Open-Meteo documents them.
pub fn condition(code: u16) -> Option<Condition> {
    let (now, day) = match code {
        0 => ("and clear", "clear skies"),
        1 => ("and mostly clear", "mostly clear skies"),
        2 => ("and partly cloudy", "partly cloudy"),
        3 => ("and cloudy", "cloudy"),
        45 => ("and foggy", "fog"),
        48 => ("and foggy", "freezing fog"),
        51 => ("with light drizzle", "light drizzle"),
        53 => ("with drizzle", "drizzle"),
        55 => ("with heavy drizzle", "heavy drizzle"),
        56 => ("with light freezing drizzle", "light freezing drizzle"),
        57 => ("with freezing drizzle", "freezing drizzle"),
        61 => ("with light rain", "light rain"),
        63 => ("with rain", "rain"),
        65 => ("with heavy rain", "heavy rain"),
        66 => ("with light freezing rain", "light freezing rain"),
        67 => ("with freezing rain", "freezing rain"),
        71 => ("with light snow", "light snow"),
        73 => ("with snow", "snow"),
        75 => ("with heavy snow", "heavy snow"),
        77 => ("with snow grains", "snow grains"),
        80 => ("with light showers", "light showers"),
        81 => ("with showers", "showers"),
        82 => ("with heavy showers", "heavy showers"),
        85 => ("with light snow showers", "light snow showers"),
        86 => ("with heavy snow showers", "heavy snow showers"),
        95 => ("with a thunderstorm", "thunderstorms"),
        96 | 99 => ("with a thunderstorm and hail", "thunderstorms with hail"),
        _ => return None,
    };
    Some(Condition { now, day })
}

/// Whole degrees as spoken: −3.4 → "minus 3".
pub(crate) fn degrees(t: f64) -> String {
    let n = t.round() as i64;
    if n < 0 { format!("minus {}", -n) } else { n.to_string() }
}

/// The sentence for an observation at a place.
pub fn sentence(place: &Place, o: &Observation, config: &WeatherConfig) -> String {
    let cond = o.weather_code.and_then(condition);
    match o.day {
        Day::Now => {
            let mut s = format!("It's {} degrees", degrees(o.temperature.unwrap_or_default()));
            if let Some(c) = cond {
                s.push(' ');
                s.push_str(c.now);
            }
            match &place.name {
                Some(name) => s.push_str(&format!(" in {name}")),
                None => s.push_str(" outside"),
            }
            if let Some(w) = o.wind_speed.map(|w| w.round() as i64).filter(|w| *w >= 1) {
                s.push_str(&format!(", with wind at {}", config.wind_speed_unit.spoken(w)));
            }
            s.push('.');
            s
        }
        Day::Today | Day::Tomorrow => {
            let when = if o.day == Day::Today { "Today" } else { "Tomorrow" };
            let head = match &place.name {
                Some(name) => format!("{when} in {name}: "),
                None => format!("{when}: "),
            };
            let (low, high) = (degrees(o.low.unwrap_or_default()), degrees(o.high.unwrap_or_default()));
            let range = if low == high { format!("around {high} degrees") } else { format!("between {low} and {high} degrees") };
            match cond {
                Some(c) => format!("{head}{}, {range}.", c.day),
                None => format!("{head}{range}."),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> Place {
        Place { name: Some("Paris".into()), country: Some("France".into()), latitude: 48.85, longitude: 2.35, timezone: None }
    }

    #[test]
    fn speaks_current_weather() {
        let o = Observation { day: Day::Now, temperature: Some(14.2), weather_code: Some(3), wind_speed: Some(0.4), ..Observation::empty(Day::Now) };
        assert_eq!(sentence(&paris(), &o, &WeatherConfig::default()), "It's 14 degrees and cloudy in Paris.");
        let o = Observation { temperature: Some(-2.6), weather_code: Some(61), wind_speed: Some(18.0), ..o };
        let config = WeatherConfig { wind_speed_unit: WindSpeedUnit::Mph, ..Default::default() };
        assert_eq!(sentence(&paris(), &o, &config), "It's minus 3 degrees with light rain in Paris, with wind at 18 miles per hour.");
        let home = Place { name: None, ..paris() };
        let o = Observation { weather_code: Some(42), wind_speed: None, ..o };
        assert_eq!(sentence(&home, &o, &config), "It's minus 3 degrees outside.");
    }

    #[test]
    fn speaks_forecasts() {
        let o = Observation { low: Some(8.6), high: Some(15.4), weather_code: Some(61), ..Observation::empty(Day::Tomorrow) };
        assert_eq!(sentence(&paris(), &o, &WeatherConfig::default()), "Tomorrow in Paris: light rain, between 9 and 15 degrees.");
        let o = Observation { day: Day::Today, low: Some(20.2), high: Some(19.8), weather_code: None, ..o };
        assert_eq!(sentence(&paris(), &o, &WeatherConfig::default()), "Today in Paris: around 20 degrees.");
    }

    #[test]
    fn parses_days_and_codes() {
        assert_eq!(Day::parse(None), Some(Day::Now));
        assert_eq!(Day::parse(Some("Tomorrow")), Some(Day::Tomorrow));
        assert_eq!(Day::parse(Some("next week")), None);
        for code in [0, 1, 2, 3, 45, 48, 51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 71, 73, 75, 77, 80, 81, 82, 85, 86, 95, 96, 99] {
            assert!(condition(code).is_some(), "code {code}");
        }
        assert!(condition(4).is_none());
    }

    #[test]
    fn validates_config() {
        assert!(WeatherConfig::default().validate().is_ok());
        let bad = WeatherConfig { home_latitude: Some(48.0), ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "tools.weather.home_longitude");
        let bad = WeatherConfig { forecast_url: "ftp://x".into(), ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "tools.weather.forecast_url");
    }
}
