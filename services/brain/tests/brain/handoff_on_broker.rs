//! Whole message and call turns over a real broker, with a test handler in place of Home Assistant that
//! acknowledges, rejects or never answers; the payloads the brain publishes carry exactly the fields
//! topics.md lists, and the handler's hand-written JSON results (what `mosquitto_pub` sends) decode.

use std::collections::BTreeSet;

use hearth_brain::BrainConfig;
use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::message::{IncomingMessage, SendMessage, StartCall};
use hearth_bus::tts::Say;
use hearth_bus::{Bus, BusConfig, Envelope, Message};
use hearth_testkit::{start_broker, start_service, Probe, RunningService, WAIT};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::messages::contacts;

/// How the test handler answers.
#[derive(Clone)]
enum Handler {
    Acknowledges,
    Rejects(&'static str),
    NeverAnswers,
}

/// A handler of `message/send` and `call/start` on every site; every request it gets comes out of the
/// returned channel as it arrived (topic and raw payload).
async fn start_handler(bus: &BusConfig, mode: Handler) -> mpsc::UnboundedReceiver<Envelope> {
    let (Bus { client, mut inbox }, connection) = Bus::connect_tool(bus, "test-handler", "hub").expect("handler connects");
    client.wait_connected(WAIT).await.expect("handler connected");
    for filter in ["hearth/+/message/send", "hearth/+/call/start", "hearth-test/handler-ready"] {
        client.subscribe(filter).await.expect("handler subscribes");
    }
    // Its own marker coming back means the broker has every subscription in place.
    client.publish_raw("hearth-test/handler-ready".into(), false, Vec::new()).await.unwrap();
    inbox.next_matching(WAIT, |e| e.topic == "hearth-test/handler-ready").await.expect("handler ready");
    let (seen, requests) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let _connection = connection;
        while let Some(envelope) = inbox.recv().await {
            let request: Value = serde_json::from_slice(&envelope.payload).expect("a request is JSON");
            let result_topic = envelope.topic.replace("/send", "/result").replace("/start", "/result");
            let answer = match &mode {
                Handler::Acknowledges => json!({"request_id": request["request_id"], "ok": true, "handler": "test"}),
                Handler::Rejects(reason) => json!({"request_id": request["request_id"], "ok": false, "reason": reason}),
                Handler::NeverAnswers => Value::Null,
            };
            if !answer.is_null() {
                client.publish_raw(result_topic, false, answer.to_string().into_bytes()).await.expect("handler answers");
            }
            if seen.send(envelope).is_err() {
                break;
            }
        }
    });
    requests
}

/// A broker, a handler, a brain with the test contact book and a probe on what is said.
struct Rig {
    probe: Probe,
    requests: mpsc::UnboundedReceiver<Envelope>,
    _brain: RunningService,
    _broker: hearth_testkit::TestBroker,
}

async fn rig(mode: Handler, result_timeout_ms: u64) -> Rig {
    let broker = start_broker();
    let requests = start_handler(&broker.bus, mode).await;
    let mut messages = contacts();
    messages.result_timeout_ms = result_timeout_ms;
    let config = BrainConfig { use_llm: false, messages, ..BrainConfig::default() };
    let brain = start_service(&broker.bus, "brain", "default", move |b, s| hearth_brain::run(config, b, s)).await;
    let probe = Probe::new(&broker.bus, &["hearth/+/tts/say"]).await;
    Rig { probe, requests, _brain: brain, _broker: broker }
}

impl Rig {
    /// Types `text` at the kitchen as turn `session` and returns what the brain says to it.
    async fn ask(&mut self, session: &str, text: &str) -> String {
        let t = Transcript { session_id: session.into(), text: text.into(), source: TranscriptSource::Typed, audio_ms: 0, processing_ms: 0 };
        self.probe.client.publish("kitchen", &t).await.unwrap();
        self.probe.next::<Say>(|s| s.session_id.as_deref() == Some(session)).await.text
    }

    async fn request(&mut self) -> Envelope {
        tokio::time::timeout(WAIT, self.requests.recv()).await.expect("the handler got a request in time").expect("handler runs")
    }
}

/// The fields topics.md lists for `name`: the back-quoted words of its bullet outside parentheses.
fn documented_fields(name: &str) -> BTreeSet<String> {
    let topics = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../topics.md")).expect("topics.md");
    let start = topics.find(&format!("\n- `{name}`")).unwrap_or_else(|| panic!("topics.md has no bullet for {name}"));
    let bullet: String = topics[start + 1..].lines().enumerate().take_while(|(i, l)| *i == 0 || l.starts_with("  ")).map(|(_, l)| l).collect();
    let fields = &bullet[bullet.find(": ").expect("a bullet lists fields after a colon")..];
    let (mut depth, mut quoted, mut word, mut found) = (0, false, String::new(), BTreeSet::new());
    for c in fields.chars() {
        match c {
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            '`' if quoted => {
                if depth == 0 {
                    found.insert(std::mem::take(&mut word));
                }
                word.clear();
                quoted = false;
            }
            '`' => quoted = true,
            c if quoted => word.push(c),
            _ => {}
        }
    }
    found
}

fn payload_fields<M: Message>(envelope: &Envelope) -> BTreeSet<String> {
    assert_eq!(envelope.suffix(), Some(M::SUFFIX), "{}", envelope.topic);
    let value: Value = serde_json::from_slice(&envelope.payload).unwrap();
    value.as_object().expect("an object").keys().cloned().collect()
}

#[test]
fn topics_md_lists_the_request_fields() {
    let want = |fields: &[&str]| fields.iter().map(|f| f.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(documented_fields("SendMessage"), want(&["request_id", "session_id", "contact", "channel", "address", "text"]));
    assert_eq!(documented_fields("StartCall"), want(&["request_id", "session_id", "contact", "channel", "address"]));
    assert_eq!(documented_fields("MessageResult"), want(&["request_id", "ok", "reason", "handler"]));
}

#[tokio::test]
async fn confirmed_then_sent_and_acknowledged() {
    let mut rig = rig(Handler::Acknowledges, 10_000).await;
    assert_eq!(rig.ask("s1", "text Alex that I'm running late").await, "Message to Alex: I'm running late. Send it?");
    assert_eq!(rig.ask("s2", "yes").await, "Sent.");
    let request = rig.request().await;
    assert_eq!(request.topic, "hearth/kitchen/message/send");
    assert_eq!(payload_fields::<SendMessage>(&request), documented_fields("SendMessage"));
    let sent: SendMessage = request.decode().unwrap();
    assert_eq!(
        (sent.contact.as_str(), sent.channel.as_str(), sent.address.as_str(), sent.text.as_str(), sent.session_id.as_deref()),
        ("Alex", "signal", "+15550001", "I'm running late", Some("s2"))
    );
}

#[tokio::test]
async fn a_cancelled_message_never_reaches_the_handler() {
    let mut rig = rig(Handler::Acknowledges, 10_000).await;
    rig.ask("s1", "text Alex that the first one").await;
    assert_eq!(rig.ask("s2", "no").await, "Okay, I won't send it.");
    rig.ask("s3", "text Alex that the second one").await;
    assert_eq!(rig.ask("s4", "yes").await, "Sent.");
    // The broker keeps one topic's order: the first request the handler sees is the confirmed one.
    let sent: SendMessage = rig.request().await.decode().unwrap();
    assert_eq!(sent.text, "the second one");
}

#[tokio::test]
async fn a_misheard_name_is_asked_back() {
    let mut rig = rig(Handler::Acknowledges, 10_000).await;
    assert_eq!(rig.ask("s1", "text Alix that I'm running late").await, "Alex or Alice?");
    assert_eq!(rig.ask("s2", "Alice").await, "Message to Alice: I'm running late. Send it?");
    assert_eq!(rig.ask("s3", "yes").await, "Sent.");
    let sent: SendMessage = rig.request().await.decode().unwrap();
    assert_eq!((sent.contact.as_str(), sent.channel.as_str()), ("Alice", "telegram"));
}

#[tokio::test]
async fn a_rejection_is_said_with_the_handlers_reason() {
    let mut rig = rig(Handler::Rejects("Signal is not set up"), 10_000).await;
    rig.ask("s1", "text Alex that I'm running late").await;
    assert_eq!(rig.ask("s2", "yes").await, "I couldn't send it: Signal is not set up.");
}

#[tokio::test]
async fn a_handler_that_never_answers_times_out() {
    let mut rig = rig(Handler::NeverAnswers, 300).await;
    rig.ask("s1", "text Alex that I'm running late").await;
    assert_eq!(rig.ask("s2", "yes").await, "I couldn't send it: no message service answered.");
    assert_eq!(rig.request().await.decode::<SendMessage>().unwrap().text, "I'm running late", "it was asked");
}

#[tokio::test]
async fn a_call_is_handed_off_on_its_own_topic() {
    let mut rig = rig(Handler::Acknowledges, 10_000).await;
    assert_eq!(rig.ask("s1", "call Alex").await, "Call Alex?");
    assert_eq!(rig.ask("s2", "yes").await, "Calling Alex.");
    let request = rig.request().await;
    assert_eq!(request.topic, "hearth/kitchen/call/start");
    assert_eq!(payload_fields::<StartCall>(&request), documented_fields("StartCall"));
    assert_eq!(request.decode::<StartCall>().unwrap().channel, "phone");
}

#[tokio::test]
async fn an_incoming_message_is_announced_where_it_was_sent() {
    let mut rig = rig(Handler::Acknowledges, 10_000).await;
    let raw = json!({"from": "mum", "text": "call me when you can"});
    rig.probe.client.publish_raw(hearth_bus::topic::topic_of::<IncomingMessage>("kitchen"), false, raw.to_string().into_bytes()).await.unwrap();
    let say = rig.probe.next::<Say>(|s| s.text.starts_with("New message")).await;
    assert_eq!(say.text, "New message from Mom: call me when you can.");
}
