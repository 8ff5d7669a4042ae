//! Home Assistant's plain command payloads turned into typed bus messages.

use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::audio::{SetMicMuted, SetVolume};
use hearth_bus::ha::HaCommand;
use hearth_bus::ids::new_id;
use hearth_bus::listen::{ListenReason, StartListening};
use hearth_bus::tts::Say;
use hearth_bus::vision::SetCameraEnabled;
use hearth_bus::wake::SetWake;
use thiserror::Error;

/// What a command becomes on the bus.
#[derive(Debug, Clone, PartialEq)]
pub enum BusCommand {
    Mic(SetMicMuted),
    Wake(SetWake),
    Camera(SetCameraEnabled),
    Volume(SetVolume),
    /// The sentences of one announcement, in order, the last with `last = true`.
    Announce(Vec<Say>),
    Ask(Transcript),
    Listen(StartListening),
}

#[derive(Debug, Error, PartialEq)]
pub enum CommandError {
    #[error("payload is not UTF-8")]
    NotUtf8,
    #[error("expected ON or OFF, got {0:?}")]
    NotASwitchState(String),
    #[error("expected a number from 0 to 100, got {0:?}")]
    NotAVolume(String),
    #[error("nothing to say")]
    Empty,
    #[error("expected PRESS, got {0:?}")]
    NotAPress(String),
}

/// Translates one command payload as Home Assistant publishes it.
pub fn translate(command: HaCommand, payload: &[u8]) -> Result<BusCommand, CommandError> {
    let text = std::str::from_utf8(payload).map_err(|_| CommandError::NotUtf8)?.trim();
    match command {
        HaCommand::MicMute => Ok(BusCommand::Mic(SetMicMuted { muted: switch_state(text)? })),
        HaCommand::WakeWord => Ok(BusCommand::Wake(SetWake { enabled: switch_state(text)? })),
        HaCommand::Camera => Ok(BusCommand::Camera(SetCameraEnabled { enabled: switch_state(text)? })),
        HaCommand::Volume => {
            let value: f64 = text.parse().map_err(|_| CommandError::NotAVolume(text.into()))?;
            if !value.is_finite() || !(0.0..=100.0).contains(&value) {
                return Err(CommandError::NotAVolume(text.into()));
            }
            Ok(BusCommand::Volume(SetVolume { volume: value.round() as u8 }))
        }
        HaCommand::Announce => {
            let sentences = split_sentences(text);
            if sentences.is_empty() {
                return Err(CommandError::Empty);
            }
            let utterance_id = new_id();
            let n = sentences.len();
            Ok(BusCommand::Announce(
                sentences
                    .into_iter()
                    .enumerate()
                    .map(|(i, text)| Say {
                        utterance_id: utterance_id.clone(),
                        session_id: None,
                        seq: i as u32,
                        text,
                        last: i + 1 == n,
                    })
                    .collect(),
            ))
        }
        HaCommand::Ask => {
            if text.is_empty() {
                return Err(CommandError::Empty);
            }
            Ok(BusCommand::Ask(Transcript {
                session_id: new_id(),
                text: text.to_string(),
                source: TranscriptSource::Typed,
                audio_ms: 0,
                processing_ms: 0,
            }))
        }
        HaCommand::Listen => {
            // HA's default `payload_press` is PRESS; accept any case.
            if !text.eq_ignore_ascii_case("PRESS") {
                return Err(CommandError::NotAPress(text.into()));
            }
            Ok(BusCommand::Listen(StartListening {
                session_id: None,
                reason: ListenReason::PushToTalk,
                no_speech_timeout_ms: None,
            }))
        }
    }
}

fn switch_state(text: &str) -> Result<bool, CommandError> {
    match text.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(CommandError::NotASwitchState(text.into())),
    }
}

/// Splits text after `.`, `!` or `?` followed by white space, so TTS can start on the first
/// sentence while the rest is synthesized. Empty pieces are dropped.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        if matches!(c, '.' | '!' | '?') && chars.peek().is_some_and(|n| n.is_whitespace()) {
            push_trimmed(&mut out, &mut current);
        }
    }
    push_trimmed(&mut out, &mut current);
    out
}

fn push_trimmed(out: &mut Vec<String>, current: &mut String) {
    let s = current.split_whitespace().collect::<Vec<_>>().join(" ");
    if !s.is_empty() {
        out.push(s);
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_numbers_and_presses() {
        assert_eq!(translate(HaCommand::MicMute, b"ON"), Ok(BusCommand::Mic(SetMicMuted { muted: true })));
        assert_eq!(translate(HaCommand::WakeWord, b"OFF"), Ok(BusCommand::Wake(SetWake { enabled: false })));
        assert_eq!(translate(HaCommand::Camera, b"OFF"), Ok(BusCommand::Camera(SetCameraEnabled { enabled: false })));
        assert_eq!(translate(HaCommand::Camera, b"on"), Ok(BusCommand::Camera(SetCameraEnabled { enabled: true })));
        assert!(translate(HaCommand::Camera, b"maybe").is_err());
        assert!(matches!(translate(HaCommand::MicMute, b"maybe"), Err(CommandError::NotASwitchState(_))));
        assert_eq!(translate(HaCommand::Volume, b"42.0"), Ok(BusCommand::Volume(SetVolume { volume: 42 })));
        assert_eq!(translate(HaCommand::Volume, b" 7 "), Ok(BusCommand::Volume(SetVolume { volume: 7 })));
        for bad in [&b"101"[..], b"-1", b"NaN", b"loud"] {
            assert!(matches!(translate(HaCommand::Volume, bad), Err(CommandError::NotAVolume(_))), "{bad:?}");
        }
        assert!(matches!(translate(HaCommand::Listen, b"PRESS"), Ok(BusCommand::Listen(s)) if s.reason == ListenReason::PushToTalk));
        assert!(translate(HaCommand::Listen, b"HOLD").is_err());
        assert_eq!(translate(HaCommand::Ask, &[0xff, 0xfe]), Err(CommandError::NotUtf8));
    }

    #[test]
    fn announcements_are_sentences_of_one_utterance() {
        let Ok(BusCommand::Announce(says)) = translate(HaCommand::Announce, b"Dinner is ready.  Come   down! Now?") else {
            panic!("not an announcement");
        };
        let texts: Vec<_> = says.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["Dinner is ready.", "Come down!", "Now?"]);
        assert!(says.iter().all(|s| s.utterance_id == says[0].utterance_id && s.session_id.is_none()));
        assert_eq!(says.iter().map(|s| s.seq).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(says.iter().map(|s| s.last).collect::<Vec<_>>(), [false, false, true]);
        assert_eq!(split_sentences("3.5 degrees"), ["3.5 degrees"]);
        assert_eq!(translate(HaCommand::Announce, b"   "), Err(CommandError::Empty));
    }

    #[test]
    fn ask_is_a_typed_transcript_with_a_new_session() {
        let Ok(BusCommand::Ask(a)) = translate(HaCommand::Ask, b"what time is it") else { panic!() };
        let Ok(BusCommand::Ask(b)) = translate(HaCommand::Ask, b"what time is it") else { panic!() };
        assert_eq!(a.text, "what time is it");
        assert_eq!(a.source, TranscriptSource::Typed);
        assert_ne!(a.session_id, b.session_id);
        assert_eq!(translate(HaCommand::Ask, b""), Err(CommandError::Empty));
    }
}
