//! What the bridge republishes for Home Assistant (pure): bus events as retained states (the last
//! transcript and reply, the timers in seconds and timestamps), bus events as HA events (a timer
//! finished, listening started or ended, a reply spoken, a message or call to hand off), and each room's
//! health.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, SecondsFormat, Utc};
use hearth_bus::asr::Transcript;
use hearth_bus::audio::Played;
use hearth_bus::brain::Reply;
use hearth_bus::ha::{
    HaHealth, HaLastReply, HaLastTranscript, HaListeningEvent, HaMessageEvent, HaReplyEvent, HaTimer, HaTimerEvent,
    HaTimers,
};
use hearth_bus::listen::{ListeningEnded, ListeningStarted};
use hearth_bus::message::{CallResult, MessageResult, SendMessage, StartCall};
use hearth_bus::topic::topic_of;
use hearth_bus::service::{ServiceState, ServiceStatus};
use hearth_bus::timer::{TimerDone, TimerState};
use serde::Serialize;

use crate::discovery::ServiceLocations;

/// Milliseconds since the Unix epoch as RFC 3339 in UTC (`2024-03-01T12:00:00Z`).
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// A serde enum's wire name (`typed`, `intent`).
fn wire_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

pub fn last_transcript(t: &Transcript, now_ms: i64) -> HaLastTranscript {
    HaLastTranscript { text: t.text.clone(), source: wire_name(&t.source), session_id: t.session_id.clone(), at: rfc3339(now_ms) }
}

pub fn last_reply(r: &Reply, now_ms: i64) -> HaLastReply {
    HaLastReply {
        text: r.text.clone(),
        request: r.request.clone(),
        source: wire_name(&r.source),
        tool: r.tool.clone(),
        elapsed_s: seconds(r.elapsed_ms),
        session_id: r.session_id.clone(),
        at: rfc3339(now_ms),
    }
}

pub fn timers(state: &TimerState) -> HaTimers {
    let mut list: Vec<_> = state.timers.iter().collect();
    list.sort_by_key(|t| t.due_at_ms);
    let timers: Vec<HaTimer> = list
        .iter()
        .map(|t| HaTimer { name: t.name.clone(), duration_s: seconds(t.duration_ms), due: rfc3339(t.due_at_ms) })
        .collect();
    HaTimers { count: timers.len(), next_due: timers.first().map(|t| t.due.clone()), timers }
}

pub fn timer_finished(done: &TimerDone) -> HaTimerEvent {
    HaTimerEvent {
        event_type: HaTimerEvent::EVENT_TYPE.into(),
        timer_id: done.timer.id.clone(),
        name: done.timer.name.clone(),
        duration_s: seconds(done.timer.duration_ms),
        late_s: seconds(done.late_ms),
        sentence: done.sentence.clone(),
    }
}

pub fn listening_started(s: &ListeningStarted) -> HaListeningEvent {
    HaListeningEvent {
        event_type: HaListeningEvent::STARTED.into(),
        session_id: s.session_id.clone(),
        reason: wire_name(&s.reason),
        speech_s: None,
    }
}

pub fn listening_ended(e: &ListeningEnded) -> HaListeningEvent {
    HaListeningEvent {
        event_type: HaListeningEvent::ENDED.into(),
        session_id: e.session_id.clone(),
        reason: wire_name(&e.reason),
        speech_s: Some(seconds(e.speech_ms)),
    }
}

/// A message to hand off, for the room's message event entity.
pub fn message_requested(site: &str, m: &SendMessage) -> HaMessageEvent {
    HaMessageEvent {
        event_type: HaMessageEvent::SEND.into(),
        request_id: m.request_id.clone(),
        contact: m.contact.clone(),
        channel: m.channel.clone(),
        address: m.address.clone(),
        text: m.text.clone(),
        result_topic: topic_of::<MessageResult>(site),
    }
}

/// A call to hand off, for the room's message event entity.
pub fn call_requested(site: &str, c: &StartCall) -> HaMessageEvent {
    HaMessageEvent {
        event_type: HaMessageEvent::CALL.into(),
        request_id: c.request_id.clone(),
        contact: c.contact.clone(),
        channel: c.channel.clone(),
        address: c.address.clone(),
        text: String::new(),
        result_topic: topic_of::<CallResult>(site),
    }
}

/// Pairs each reply with the end of its audio: `brain/reply` and `audio/played` travel on different
/// topics, so either may come first. One event per reply.
#[derive(Debug, Default)]
pub struct SpokenReplies {
    /// site → replies not yet heard, and sessions heard before their reply arrived (a few each).
    replies: BTreeMap<String, VecDeque<Reply>>,
    played: BTreeMap<String, VecDeque<(String, bool)>>,
}

/// How many unmatched replies or playbacks are kept per site.
const KEPT: usize = 8;

impl SpokenReplies {
    pub fn on_reply(&mut self, site: &str, reply: &Reply) -> Option<HaReplyEvent> {
        let played = self.played.entry(site.to_string()).or_default();
        if let Some(i) = played.iter().position(|(s, _)| *s == reply.session_id) {
            let (_, interrupted) = played.remove(i).expect("index found above");
            return Some(spoken(reply, interrupted));
        }
        push_bounded(self.replies.entry(site.to_string()).or_default(), reply.clone());
        None
    }

    pub fn on_played(&mut self, site: &str, played: &Played) -> Option<HaReplyEvent> {
        // Chimes carry the session too; only the reply's own audio counts.
        let session = played.session_id.as_ref().filter(|_| !played.utterance_id.starts_with("chime-"))?;
        let replies = self.replies.entry(site.to_string()).or_default();
        if let Some(i) = replies.iter().position(|r| r.session_id == *session) {
            let reply = replies.remove(i).expect("index found above");
            return Some(spoken(&reply, played.interrupted));
        }
        push_bounded(self.played.entry(site.to_string()).or_default(), (session.clone(), played.interrupted));
        None
    }
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() == KEPT {
        queue.pop_front();
    }
    queue.push_back(item);
}

fn spoken(reply: &Reply, interrupted: bool) -> HaReplyEvent {
    HaReplyEvent {
        event_type: HaReplyEvent::EVENT_TYPE.into(),
        session_id: reply.session_id.clone(),
        request: reply.request.clone(),
        text: reply.text.clone(),
        interrupted,
    }
}

/// The health of `site`: every service it uses that is not online, with its detail.
pub fn health(site: &str, locations: &ServiceLocations, statuses: &BTreeMap<(String, String), ServiceStatus>) -> HaHealth {
    let problems: Vec<String> = locations
        .services_of(site)
        .into_iter()
        .filter_map(|(service, home)| {
            let status = statuses.get(&(home, service.clone()))?;
            if status.state == ServiceState::Online {
                return None;
            }
            let state = wire_name(&status.state);
            Some(match &status.detail {
                Some(detail) => format!("{service}: {state}: {detail}"),
                None => format!("{service}: {state}"),
            })
        })
        .collect();
    HaHealth { problem: !problems.is_empty(), problems }
}

#[cfg(test)]
mod tests {
    use hearth_bus::brain::ReplySource;
    use hearth_bus::timer::Timer;

    use super::*;

    fn reply(session: &str) -> Reply {
        Reply { session_id: session.into(), request: "hi".into(), text: "Hello.".into(), source: ReplySource::Intent, tool: None, elapsed_ms: 1500 }
    }

    fn played(session: &str, utterance: &str) -> Played {
        Played { utterance_id: utterance.into(), session_id: Some(session.into()), duration_ms: 900, interrupted: false }
    }

    #[test]
    fn units_are_seconds_and_timestamps() {
        assert_eq!(rfc3339(1_700_000_000_000), "2023-11-14T22:13:20Z");
        let t = |id: &str, due| Timer { id: id.into(), name: Some(id.into()), site: "k".into(), duration_ms: 90_000, due_at_ms: due, created_at_ms: 0 };
        let ha = timers(&TimerState { timers: vec![t("late", 1_700_000_100_000), t("soon", 1_700_000_000_000)] });
        assert_eq!(ha.count, 2);
        assert_eq!(ha.next_due.as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!((ha.timers[0].name.as_deref(), ha.timers[0].duration_s), (Some("soon"), 90.0));
        let empty = timers(&TimerState { timers: vec![] });
        assert_eq!((empty.count, empty.next_due), (0, None));
        assert_eq!(last_reply(&reply("s"), 0).elapsed_s, 1.5);
        assert_eq!(last_reply(&reply("s"), 0).source, "intent");
    }

    #[test]
    fn a_reply_is_spoken_once_whichever_comes_first() {
        let mut s = SpokenReplies::default();
        assert!(s.on_reply("k", &reply("a")).is_none());
        assert!(s.on_played("k", &played("a", "chime-got_it-1")).is_none(), "a chime is not the reply");
        let e = s.on_played("k", &played("a", "u1")).expect("spoken");
        assert_eq!((e.event_type.as_str(), e.text.as_str(), e.interrupted), ("spoken", "Hello.", false));
        assert!(s.on_played("k", &played("a", "u1")).is_none(), "once");
        // The audio ended before the reply arrived.
        assert!(s.on_played("k", &played("b", "u2")).is_none());
        assert!(s.on_reply("k", &reply("b")).is_some());
        assert!(s.on_reply("other", &reply("b")).is_none(), "per site");
    }

    #[test]
    fn health_lists_what_is_not_online() {
        let mut loc = ServiceLocations::default();
        loc.insert("asr", "default");
        loc.insert("audio", "kitchen");
        let mut statuses = BTreeMap::new();
        let status = |state, detail: Option<&str>| ServiceStatus { state, detail: detail.map(Into::into), timestamp_ms: 1 };
        statuses.insert(("kitchen".to_string(), "audio".to_string()), status(ServiceState::Online, None));
        statuses.insert(
            ("default".to_string(), "asr".to_string()),
            status(ServiceState::Unavailable, Some("whisper model missing — run `hearth models pull whisper-tiny.en`")),
        );
        let h = health("kitchen", &loc, &statuses);
        assert!(h.problem);
        assert_eq!(h.problems, ["asr: unavailable: whisper model missing — run `hearth models pull whisper-tiny.en`"]);
        statuses.insert(("default".to_string(), "asr".to_string()), status(ServiceState::Online, None));
        assert!(!health("kitchen", &loc, &statuses).problem);
    }
}
