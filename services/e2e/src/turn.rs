//! One voice turn through a [`Rig`]: speak, then follow the session over the bus to the last audio chunk,
//! stamping every stage boundary.

use std::fmt;
use std::time::{Duration, Instant};

use hearth_bus::asr::Transcript;
use hearth_bus::audio::{PlayChunk, Played, StopPlayback};
use hearth_bus::brain::{AssistantState, Reply, ReplySource, StateChanged};
use hearth_bus::listen::{EndReason, ListenReason, ListeningEnded, ListeningStarted};
use hearth_bus::tts::{Say, Spoken};
use hearth_bus::wake::{WakeDetected, WakeHeard};

use crate::rig::Rig;

/// What happened in one turn, and when, as seen on the bus.
#[derive(Debug, Clone)]
pub struct TurnReport {
    pub session_id: String,
    /// The wake word's score (`None` for a follow-up).
    pub wake_score: Option<f32>,
    pub end_reason: EndReason,
    pub speech_ms: u64,
    pub transcript: String,
    pub reply: Reply,
    /// The sentences sent to TTS, in order.
    pub sentences: Vec<String>,
    /// The voice that spoke the first sentence.
    pub voice: String,
    pub played: Played,
    pub times: StageTimes,
    /// From the wake service's candidate (`wake/heard`) to the arbiter's `wake/detected`: what deciding
    /// between rooms added to the turn. `None` for a follow-up, or when no arbiter ran.
    pub arbitration: Option<Duration>,
}

/// Each stage boundary as time since the last speech sample went into the microphone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageTimes {
    /// `listen/ended`: the endpointer heard the end of speech.
    pub end_of_speech: Duration,
    /// `asr/transcript`.
    pub transcript: Duration,
    /// `tts/say` with `seq` 0: the first sentence of the reply.
    pub first_sentence: Duration,
    /// `audio/play` with `seq` 0: the first audio chunk.
    pub first_audio: Duration,
    /// `audio/play` with `last`: the last audio chunk.
    pub last_audio: Duration,
}

impl StageTimes {
    pub const NAMES: [&'static str; 5] = ["end of speech detected", "transcript", "first sentence", "first audio chunk", "last audio chunk"];

    pub fn as_array(&self) -> [Duration; 5] {
        [self.end_of_speech, self.transcript, self.first_sentence, self.first_audio, self.last_audio]
    }
}

impl fmt::Display for TurnReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "heard {:?} -> {:?} ({:?}) in {}", self.transcript, self.reply.text, self.reply.source, self.voice)?;
        let mut previous = Duration::ZERO;
        for (name, at) in StageTimes::NAMES.iter().zip(self.times.as_array()) {
            writeln!(f, "  {name:<24} {:>8.0} ms  (+{:.0} ms)", ms(at), ms(at.saturating_sub(previous)))?;
            previous = at;
        }
        if let Some(waited) = self.arbitration {
            writeln!(f, "  {:<24} {:>8.1} ms  (wake/heard → wake/detected)", "wake arbitration", ms(waited))?;
        }
        Ok(())
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Rig {
    /// Waits until the brain is idle: the wake word is not listened for while the assistant speaks.
    pub async fn wait_idle(&mut self) -> anyhow::Result<()> {
        // No state yet: the brain starts idle and publishes only changes.
        if self.recorder.latest::<StateChanged>().is_none_or(|s| s.state == AssistantState::Idle) {
            return Ok(());
        }
        // Older states (an idle from an earlier turn) must not answer for the coming one.
        self.recorder.discard(|e| e.is::<StateChanged>());
        self.recorder.next::<StateChanged>(|s| s.state == AssistantState::Idle).await?;
        // The wake service hears the same retained state at about the same moment; let it resume.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(())
    }

    /// Speaks `audio` (wake word and request) once the assistant is idle and follows the turn the wake
    /// word starts.
    pub async fn wake_turn(&mut self, audio: Vec<i16>) -> anyhow::Result<TurnReport> {
        self.wait_idle().await?;
        let speech_end = self.mic.say(audio).await?;
        let (detected_at, wake) = self.recorder.next::<WakeDetected>(|_| true).await?;
        let heard = self.recorder.received::<WakeHeard>(|h| h.session_id == wake.session_id);
        let mut report = self.follow(wake.session_id.clone(), Some(wake.score), speech_end).await?;
        report.arbitration = heard.map(|(heard_at, _)| detected_at.saturating_duration_since(heard_at));
        Ok(report)
    }

    /// Waits for the follow-up window that opens after `session`'s reply, speaks `audio` without the wake
    /// word, and follows the turn.
    pub async fn follow_up_turn(&mut self, session: &str, audio: Vec<i16>) -> anyhow::Result<TurnReport> {
        self.recorder.next::<ListeningStarted>(|s| s.session_id == session && s.reason == ListenReason::FollowUp).await?;
        let speech_end = self.mic.say(audio).await?;
        self.follow(session.to_string(), None, speech_end).await
    }

    /// Follows `session` from the end of capture to the end of playback.
    pub async fn follow(&mut self, session: String, wake_score: Option<f32>, speech_end: Instant) -> anyhow::Result<TurnReport> {
        let r = &mut self.recorder;
        let ours = |s: &Option<String>| s.as_deref() == Some(session.as_str());
        let (ended_at, ended) = r.next::<ListeningEnded>(|e| e.session_id == session).await?;
        anyhow::ensure!(matches!(ended.reason, EndReason::Silence | EndReason::MaxLength), "capture ended without speech: {ended:?}");
        let (transcript_at, transcript) = r.next::<Transcript>(|t| t.session_id == session).await?;
        let (_, reply) = r.next::<Reply>(|m| m.session_id == session).await?;
        let (first_sentence_at, first) = r.next::<Say>(|s| ours(&s.session_id) && s.seq == 0).await?;
        let mut sentences = vec![first.text.clone()];
        let mut last = first.last;
        let mut seq = 0;
        while !last {
            seq += 1;
            let (_, say) = r.next::<Say>(|s| ours(&s.session_id) && s.utterance_id == first.utterance_id && s.seq == seq).await?;
            // A streamed reply ends with an empty closing sentence (`last` could not be known earlier).
            if !say.text.is_empty() {
                sentences.push(say.text);
            }
            last = say.last;
        }
        let (_, spoken) = r.next::<Spoken>(|s| s.utterance_id == first.utterance_id && s.seq == 0).await?;
        if let Some(error) = spoken.error {
            anyhow::bail!("TTS failed: {error}");
        }
        let (first_audio_at, _) = r.next::<PlayChunk>(|c| c.utterance_id == first.utterance_id && c.seq == 0).await?;
        let (last_audio_at, _) = r.next::<PlayChunk>(|c| c.utterance_id == first.utterance_id && c.last).await?;
        if self.cut_playback {
            self.recorder.client.publish("default", &StopPlayback { reason: "bench".into() }).await?;
        }
        let r = &mut self.recorder;
        let (_, played) = r.next::<Played>(|p| p.utterance_id == first.utterance_id).await?;
        let since = |t: Instant| t.saturating_duration_since(speech_end);
        Ok(TurnReport {
            session_id: session.clone(),
            wake_score,
            end_reason: ended.reason,
            speech_ms: ended.speech_ms,
            transcript: transcript.text,
            reply,
            sentences,
            voice: spoken.voice,
            played,
            times: StageTimes {
                end_of_speech: since(ended_at),
                transcript: since(transcript_at),
                first_sentence: since(first_sentence_at),
                first_audio: since(first_audio_at),
                last_audio: since(last_audio_at),
            },
            arbitration: None,
        })
    }
}

/// Whether a reply came from the language model's path (its words or a tool it called).
pub fn via_llm(reply: &Reply) -> bool {
    matches!(reply.source, ReplySource::Llm | ReplySource::Tool)
}
