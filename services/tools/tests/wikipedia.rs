//! `wikipedia` against a local stand-in for the REST summary and opensearch APIs.

use std::time::{Duration, Instant};

use hearth_bus::tool::names::WIKIPEDIA;
use hearth_tools::wikipedia::WikipediaConfig;
use hearth_tools::{Tools, ToolsConfig};
use serde_json::json;

use hearth_tools::testkit::{call, json, Reply, Request, TestServer};

fn summary(title: &str, kind: &str, extract: &str) -> Reply {
    json(json!({
        "type": kind, "title": title, "displaytitle": format!("<span>{title}</span>"),
        "extract": extract, "extract_html": format!("<p>{extract}</p>"),
        "content_urls": {"desktop": {"page": format!("https://en.wikipedia.org/wiki/{}", title.replace(' ', "_"))}}
    }))
}

fn wiki(r: &Request) -> Reply {
    match r.path.as_str() {
        "/api/rest_v1/page/summary/Albert_Einstein" => summary(
            "Albert Einstein",
            "standard",
            "Albert Einstein (/ˈaɪnstaɪn/ EYEN-styne; German: [ˈalbɛʁt ˈʔaɪnʃtaɪn] ⓘ; 14 March 1879 – 18 April 1955) \
             was a German-born theoretical physicist who is best known for developing the theory of relativity. \
             Einstein also made important contributions to quantum mechanics. His mass–energy equivalence formula \
             E = mc2, which arises from special relativity, has been called \"the world's most famous equation\".",
        ),
        "/api/rest_v1/page/summary/Mercury" => summary("Mercury", "disambiguation", "Mercury may refer to:"),
        "/api/rest_v1/page/summary/AC%2FDC" => summary("AC/DC", "standard", "AC/DC are an Australian rock band formed in Sydney in 1973."),
        "/w/api.php" => match r.query("search").as_deref() {
            Some("einstein's theory guy") => json(json!(["einstein's theory guy", ["Albert Einstein"], [""], ["https://en.wikipedia.org/wiki/Albert_Einstein"]])),
            Some(q) => json(json!([q, [], [], []])),
            None => Reply::Json(400, "{}".into()),
        },
        _ => Reply::Json(404, json!({"type": "https://mediawiki.org/wiki/HyperSwitch/errors/not_found", "title": "Not found."}).to_string()),
    }
}

fn config(server: &TestServer) -> ToolsConfig {
    ToolsConfig {
        timeout_ms: 400,
        wikipedia: WikipediaConfig { base_url: server.base.clone(), ..WikipediaConfig::default() },
        ..ToolsConfig::default()
    }
}

#[tokio::test]
async fn reads_a_clean_summary() {
    let server = TestServer::start(wiki).await;
    let tools = Tools::new(config(&server)).unwrap();
    let result = tools.on_tool_call(&call(WIKIPEDIA, json!({"topic": "Albert Einstein"}))).await;
    assert!(result.ok, "{result:?}");
    assert_eq!(
        result.sentence,
        "Albert Einstein was a German-born theoretical physicist who is best known for developing the theory of \
         relativity. Einstein also made important contributions to quantum mechanics."
    );
    let data = result.data.unwrap();
    assert_eq!(data["title"], "Albert Einstein");
    assert_eq!(data["kind"], "article");
    assert_eq!(data["url"], "https://en.wikipedia.org/wiki/Albert_Einstein");

    // A title with a slash stays one path segment.
    let result = tools.on_tool_call(&call(WIKIPEDIA, json!({"topic": "AC/DC"}))).await;
    assert_eq!(result.sentence, "AC/DC are an Australian rock band formed in Sydney in 1973.");
}

#[tokio::test]
async fn falls_back_to_opensearch_for_loose_topics() {
    let server = TestServer::start(wiki).await;
    let tools = Tools::new(config(&server)).unwrap();
    let result = tools.on_tool_call(&call(WIKIPEDIA, json!({"topic": "einstein's theory guy"}))).await;
    assert!(result.ok, "{result:?}");
    assert!(result.sentence.starts_with("Albert Einstein was a German-born"), "{}", result.sentence);
    let paths = server.paths();
    assert_eq!(paths, ["/api/rest_v1/page/summary/einstein's_theory_guy", "/w/api.php", "/api/rest_v1/page/summary/Albert_Einstein"]);

    let result = tools.on_tool_call(&call(WIKIPEDIA, json!({"topic": "Qwxzy Plorb"}))).await;
    assert!(!result.ok);
    assert_eq!(result.sentence, "I couldn't find anything on Wikipedia about Qwxzy Plorb.");
}

#[tokio::test]
async fn disambiguation_is_said_honestly() {
    let server = TestServer::start(wiki).await;
    let tools = Tools::new(config(&server)).unwrap();
    let result = tools.on_tool_call(&call(WIKIPEDIA, json!({"topic": "Mercury"}))).await;
    assert!(!result.ok);
    assert_eq!(result.sentence, "Mercury can mean several things on Wikipedia. Which one do you mean?");
    assert_eq!(result.data.unwrap()["kind"], "disambiguation");
}

#[tokio::test]
async fn missing_topic_is_asked_for() {
    let server = TestServer::start(wiki).await;
    let result = Tools::new(config(&server)).unwrap().on_tool_call(&call(WIKIPEDIA, json!({"topic": "  "}))).await;
    assert_eq!(result.sentence, "What should I look up on Wikipedia?");
    assert!(server.paths().is_empty());
}

#[tokio::test]
async fn failures_have_spoken_fallbacks() {
    let cases = [
        (Reply::Hang, "I couldn't reach Wikipedia right now."),
        (Reply::Json(500, "oops".into()), "I couldn't reach Wikipedia right now."),
        (Reply::Json(200, "<html>".into()), "Wikipedia sent an answer I couldn't read."),
        (Reply::Json(200, "{\"type\": \"standard\"}".into()), "Wikipedia sent an answer I couldn't read."),
    ];
    for (reply, expected) in cases {
        let server = TestServer::start(move |_| reply.clone()).await;
        let started = Instant::now();
        let result = Tools::new(config(&server)).unwrap().on_tool_call(&call(WIKIPEDIA, json!({"topic": "Paris"}))).await;
        assert!(!result.ok);
        assert_eq!(result.sentence, expected);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
