//! `get_weather` against a local stand-in for Open-Meteo: good answers, units, unknown places, and
//! every way the service can fail (slow, HTTP errors, garbage, nobody listening).

use std::time::{Duration, Instant};

use hearth_bus::tool::names::GET_WEATHER;
use hearth_tools::weather::WeatherConfig;
use hearth_tools::{Tools, ToolsConfig};
use serde_json::json;

use hearth_tools::testkit::{call, geocoding, json, open_meteo, Reply, TestServer};

const UNREACHABLE: &str = "I couldn't reach the weather service right now.";

fn config(server: &TestServer, weather: WeatherConfig) -> ToolsConfig {
    ToolsConfig {
        timeout_ms: 400,
        weather: WeatherConfig {
            geocoding_url: format!("{}/v1/search", server.base),
            forecast_url: format!("{}/v1/forecast", server.base),
            ..weather
        },
        ..ToolsConfig::default()
    }
}

#[tokio::test]
async fn current_weather_for_a_named_place() {
    let server = open_meteo().await;
    let tools = Tools::new(config(&server, WeatherConfig::default())).unwrap();
    let result = tools.on_tool_call(&call(GET_WEATHER, json!({"location": "Paris"}))).await;
    assert!(result.ok, "{result:?}");
    assert_eq!(result.sentence, "It's 14 degrees and cloudy in Paris, with wind at 12 kilometers per hour.");
    let data = result.data.unwrap();
    assert_eq!(data["location"], "Paris");
    assert_eq!(data["day"], "now");
    assert_eq!(data["country"], "France");

    let hits = server.hits.lock().unwrap().clone();
    assert_eq!(hits[0].query("count").as_deref(), Some("1"));
    assert_eq!(hits[1].query("latitude").as_deref(), Some("48.8534"));
    assert_eq!(hits[1].query("temperature_unit").as_deref(), Some("celsius"));
    assert_eq!(hits[1].query("forecast_days").as_deref(), Some("2"));
    assert!(hits[1].query("current").unwrap().contains("weather_code"));
    assert!(hits.iter().all(|h| h.user_agent.as_deref().is_some_and(|ua| ua.starts_with("Hearth/"))));
}

#[tokio::test]
async fn tomorrow_in_fahrenheit_and_a_qualified_place() {
    let server = open_meteo().await;
    let weather = WeatherConfig {
        temperature_unit: hearth_tools::weather::TemperatureUnit::Fahrenheit,
        wind_speed_unit: hearth_tools::weather::WindSpeedUnit::Mph,
        ..WeatherConfig::default()
    };
    let tools = Tools::new(config(&server, weather)).unwrap();
    let result = tools.on_tool_call(&call(GET_WEATHER, json!({"location": "Paris, Texas", "day": "tomorrow"}))).await;
    assert!(result.ok, "{result:?}");
    assert_eq!(result.sentence, "Tomorrow in Paris: light rain, between 48 and 60 degrees.");
    assert_eq!(result.data.as_ref().unwrap()["country"], "United States");
    assert_eq!(result.data.as_ref().unwrap()["day"], "tomorrow");
    let hits = server.hits.lock().unwrap().clone();
    assert_eq!(hits[0].query("name").as_deref(), Some("Paris"));
    assert_eq!(hits[1].query("longitude").as_deref(), Some("-95.5555"));
    assert_eq!(hits[1].query("wind_speed_unit").as_deref(), Some("mph"));
}

#[tokio::test]
async fn home_from_config_and_missing_home() {
    let server = open_meteo().await;
    let home = WeatherConfig { home: Some("Paris".into()), ..WeatherConfig::default() };
    let tools = Tools::new(config(&server, home)).unwrap();
    let result = tools.on_tool_call(&call(GET_WEATHER, json!({"day": "today"}))).await;
    assert_eq!(result.sentence, "Today in Paris: cloudy, between 8 and 15 degrees.");

    // Coordinates skip the geocoder; without a name the sentence says "outside".
    let coords = WeatherConfig { home_latitude: Some(48.85), home_longitude: Some(2.35), ..WeatherConfig::default() };
    let before = server.paths().len();
    let tools = Tools::new(config(&server, coords)).unwrap();
    let result = tools.on_tool_call(&call(GET_WEATHER, json!({"location": "home"}))).await;
    assert_eq!(result.sentence, "It's 14 degrees and cloudy outside, with wind at 12 kilometers per hour.");
    assert_eq!(server.paths()[before..], ["/v1/forecast".to_string()]);

    let tools = Tools::new(config(&server, WeatherConfig::default())).unwrap();
    let result = tools.on_tool_call(&call(GET_WEATHER, json!({}))).await;
    assert!(!result.ok);
    assert!(result.sentence.starts_with("I don't know where home is"), "{}", result.sentence);
}

#[tokio::test]
async fn unknown_place_and_unsupported_day() {
    let server = open_meteo().await;
    let tools = Tools::new(config(&server, WeatherConfig::default())).unwrap();
    let result = tools.on_tool_call(&call(GET_WEATHER, json!({"location": "Atlantis"}))).await;
    assert!(!result.ok);
    assert_eq!(result.sentence, "I couldn't find a place called Atlantis.");
    let result = tools.on_tool_call(&call(GET_WEATHER, json!({"location": "Paris, Narnia"}))).await;
    assert_eq!(result.sentence, "I couldn't find a place called Paris, Narnia.");
    let result = tools.on_tool_call(&call(GET_WEATHER, json!({"location": "Paris", "day": "next week"}))).await;
    assert_eq!(result.sentence, "I can only tell the weather for now, today or tomorrow.");
}

async fn failing_with(reply: Reply) -> (String, Duration) {
    let server = TestServer::start(move |_| reply.clone()).await;
    let tools = Tools::new(config(&server, WeatherConfig::default())).unwrap();
    let started = Instant::now();
    let result = tools.on_tool_call(&call(GET_WEATHER, json!({"location": "Paris"}))).await;
    assert!(!result.ok);
    assert!(result.data.is_none());
    (result.sentence, started.elapsed())
}

#[tokio::test]
async fn slow_service_times_out_with_a_spoken_fallback() {
    let (sentence, took) = failing_with(Reply::Hang).await;
    assert_eq!(sentence, UNREACHABLE);
    // The configured 400 ms deadline, not the server's two minutes (generous bound for a loaded machine).
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn http_errors_garbage_and_dropped_connections() {
    assert_eq!(failing_with(Reply::Json(500, "{\"error\":true}".into())).await.0, UNREACHABLE);
    assert_eq!(failing_with(Reply::Json(429, "{}".into())).await.0, UNREACHABLE);
    let garbage = "The weather service sent an answer I couldn't read.";
    assert_eq!(failing_with(Reply::Json(200, "{not json".into())).await.0, garbage);
    assert_eq!(failing_with(Reply::Json(200, "[1,2,3]".into())).await.0, garbage);
    assert_eq!(failing_with(Reply::Json(200, "{\"results\": [{\"name\": 5}]}".into())).await.0, garbage);
    assert_eq!(failing_with(Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"res".to_vec())).await.0, UNREACHABLE);
    assert_eq!(failing_with(Reply::Raw(b"not http at all\r\n\r\n".to_vec())).await.0, UNREACHABLE);
}

#[tokio::test]
async fn forecast_without_the_asked_values_is_garbage() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/v1/search" => geocoding(r),
        _ => json(json!({"current": {"temperature_2m": null}, "daily": {"time": ["2026-11-23"]}})),
    })
    .await;
    let tools = Tools::new(config(&server, WeatherConfig::default())).unwrap();
    for day in ["now", "today", "tomorrow"] {
        let result = tools.on_tool_call(&call(GET_WEATHER, json!({"location": "Paris", "day": day}))).await;
        assert_eq!(result.sentence, "The weather service sent an answer I couldn't read.", "{day}");
    }
}

#[tokio::test]
async fn nobody_listening() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = ToolsConfig {
        timeout_ms: 400,
        weather: WeatherConfig {
            geocoding_url: format!("http://127.0.0.1:{port}/v1/search"),
            ..WeatherConfig::default()
        },
        ..ToolsConfig::default()
    };
    let result = Tools::new(config).unwrap().on_tool_call(&call(GET_WEATHER, json!({"location": "Paris"}))).await;
    assert_eq!(result.sentence, UNREACHABLE);
}

/// The questions the fast path asks: "will it rain tomorrow in Paris?", "how cold is it in Paris?",
/// "is it snowing?".
#[tokio::test]
async fn rain_snow_and_temperature_questions() {
    let server = open_meteo().await;
    let tools = Tools::new(config(&server, WeatherConfig::default())).unwrap();
    let tools = &tools;
    let ask = |args: serde_json::Value| {
        let c = call(GET_WEATHER, args);
        async move { tools.on_tool_call(&c).await }
    };
    let r = ask(json!({"location": "Paris", "day": "tomorrow", "question": "rain"})).await;
    assert_eq!(r.sentence, "Yes, rain is likely in Paris tomorrow, an 80 percent chance. Take an umbrella.");
    assert_eq!(r.data.as_ref().unwrap()["rain_chance"], json!(80.0));
    let r = ask(json!({"location": "Paris", "day": "today", "question": "rain"})).await;
    assert_eq!(r.sentence, "No, rain isn't expected in Paris today, only a 10 percent chance.");
    let r = ask(json!({"location": "Paris", "question": "rain"})).await;
    assert_eq!(r.sentence, "No, it isn't raining in Paris right now.");
    let r = ask(json!({"location": "Paris", "question": "temperature"})).await;
    assert_eq!(r.sentence, "It's 14 degrees in Paris.");
    let r = ask(json!({"location": "Paris", "day": "tomorrow", "question": "snow"})).await;
    assert_eq!(r.sentence, "No, snow isn't expected in Paris tomorrow.");
    let r = ask(json!({"location": "Paris", "question": "hail"})).await;
    assert!(!r.ok);
    let hits = server.hits.lock().unwrap().clone();
    assert!(hits[1].query("daily").unwrap().contains("precipitation_probability_max"));
}

/// "What time is it in Tokyo?": the geocoder gives the time zone, the clock does the rest offline.
#[tokio::test]
async fn time_in_a_named_place() {
    use hearth_bus::tool::names::GET_TIME;
    let server = open_meteo().await;
    let tools = Tools::new(config(&server, WeatherConfig::default())).unwrap();
    let r = tools.on_tool_call(&call(GET_TIME, json!({"location": "Tokyo"}))).await;
    assert!(r.ok, "{r:?}");
    assert!(r.sentence.starts_with("It's ") && r.sentence.ends_with(" in Tokyo."), "{r:?}");
    assert_eq!(r.data.unwrap()["timezone"], "Asia/Tokyo");
    let r = tools.on_tool_call(&call(GET_TIME, json!({"location": "Atlantis"}))).await;
    assert_eq!((r.ok, r.sentence.as_str()), (false, "I couldn't find a place called Atlantis."));
    // No location: the house clock, without a lookup.
    let before = server.paths().len();
    let r = tools.on_tool_call(&call(GET_TIME, json!({}))).await;
    assert!(r.ok && !r.sentence.contains(" in "), "{r:?}");
    assert_eq!(server.paths().len(), before);
}
