//! One answer per wake word: when several sites hear the same word at once, exactly one runs the turn.
//!
//! Pure decision logic, no bus inside ([`crate::arbiter_service`] wraps it). A *round* opens with the
//! first candidate ([`WakeHeard`]) of a word and closes `window_ms` later, or as soon as every site
//! known to listen for wake words has answered, whichever comes first: the decision never adds more
//! than the window to a turn, and nothing for a house with one room. The winner:
//!
//! 1. a site already in a conversation (its assistant state is not idle) keeps it;
//! 2. else the best wake score, where scores within `score_margin` of the best count as equal
//!    (openWakeWord saturates near 1 for any clear word, so a hair of score says nothing about which
//!    microphone was nearer);
//! 3. among those, the loudest speech (`level_dbfs`).
//!
//! A candidate of the same word arriving after the decision but within `late_ms` of the round's
//! start is the same utterance heard late (a slow satellite, a quiet microphone crossing the
//! threshold a step later): it loses too, so no second room answers.

use std::collections::HashSet;
use std::time::Duration;

use hearth_bus::wake::{LostReason, WakeHeard};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// The `[arbiter]` table of the node file that runs the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArbiterConfig {
    /// Run the arbiter beside the embedded broker (`hearth broker`, `hearth up`). Off: every room's
    /// wake service answers for itself, and rooms that hear one word all answer.
    pub enabled: bool,
    /// How long after the first site heard a word other sites may still join the round, milliseconds.
    pub window_ms: u64,
    /// Wake scores this close to the best (0 to 1) count as equally good; the louder site then wins.
    pub score_margin: f32,
    /// After a decision, candidates of the same word this long after the round began (milliseconds)
    /// are the same utterance heard late and lose.
    pub late_ms: u64,
}

impl Default for ArbiterConfig {
    fn default() -> Self {
        ArbiterConfig { enabled: true, window_ms: 150, score_margin: 0.1, late_ms: 1_000 }
    }
}

impl ArbiterConfig {
    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.window_ms > 1_000 {
            return Err(("arbiter.window_ms".into(), "must be at most 1000 (it delays every turn by up to this)".into()));
        }
        if !(0.0..=1.0).contains(&self.score_margin) {
            return Err(("arbiter.score_margin".into(), "must be 0 to 1".into()));
        }
        if self.late_ms < self.window_ms || self.late_ms > 10_000 {
            return Err(("arbiter.late_ms".into(), "must be at least window_ms and at most 10000".into()));
        }
        Ok(())
    }
}

/// What the arbiter publishes.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `site` runs the turn: publish `wake/detected` (after `audio/stop` when `heard.barge_in`).
    Won { site: String, heard: WakeHeard, waited: Duration, rivals: usize },
    /// `site` stays idle: publish `wake/lost`.
    Lost { site: String, heard: WakeHeard, winner_site: String, reason: LostReason },
}

struct Candidate {
    site: String,
    heard: WakeHeard,
}

struct Round {
    word: String,
    opened: Instant,
    candidates: Vec<Candidate>,
    /// The winner, once decided; the round is kept until `late_ms` to turn away late candidates.
    winner: Option<String>,
}

/// The decision state: open rounds, and what is known of each site.
pub struct Arbiter {
    config: ArbiterConfig,
    rounds: Vec<Round>,
    /// Sites whose wake detection is on (from the retained `wake/state`).
    listening: HashSet<String>,
    /// Sites in a conversation (assistant state not idle).
    busy: HashSet<String>,
}

impl Arbiter {
    pub fn new(config: ArbiterConfig) -> Self {
        Arbiter { config, rounds: Vec::new(), listening: HashSet::new(), busy: HashSet::new() }
    }

    /// A site's wake detection was switched on or off (`wake/state`).
    pub fn on_wake_state(&mut self, site: &str, enabled: bool) {
        if enabled {
            self.listening.insert(site.to_string());
        } else {
            self.listening.remove(site);
        }
    }

    /// A site's assistant state changed (`brain/state`): anything but idle is a conversation.
    pub fn on_busy(&mut self, site: &str, busy: bool) {
        if busy {
            self.busy.insert(site.to_string());
        } else {
            self.busy.remove(site);
        }
    }

    /// A candidate arrived at `now`. Returns what to publish at once (a late loser, or a decision
    /// when every listening site has answered).
    pub fn on_heard(&mut self, site: &str, heard: WakeHeard, now: Instant) -> Vec<Outcome> {
        self.forget_old(now);
        // A site that sends a candidate listens, whatever its retained state said.
        self.listening.insert(site.to_string());
        let late = Duration::from_millis(self.config.late_ms);
        let open = self.rounds.iter().position(|r| r.word == heard.word && now.duration_since(r.opened) <= late);
        let index = open.unwrap_or_else(|| {
            self.rounds.push(Round { word: heard.word.clone(), opened: now, candidates: Vec::new(), winner: None });
            self.rounds.len() - 1
        });
        let round = &mut self.rounds[index];
        if let Some(winner) = &round.winner {
            if winner == site {
                // The winner's own detector fired again within the round: not a second turn.
                return Vec::new();
            }
            let winner_site = winner.clone();
            return vec![Outcome::Lost { site: site.to_string(), heard, winner_site, reason: LostReason::Late }];
        }
        if round.candidates.iter().any(|c| c.site == site) {
            return Vec::new();
        }
        round.candidates.push(Candidate { site: site.to_string(), heard });
        let round = &self.rounds[index];
        if self.listening.iter().all(|s| round.candidates.iter().any(|c| &c.site == s)) {
            return self.decide(index, now);
        }
        Vec::new()
    }

    /// When the next open round must be decided, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let window = Duration::from_millis(self.config.window_ms);
        self.rounds.iter().filter(|r| r.winner.is_none()).map(|r| r.opened + window).min()
    }

    /// Decides every round whose window has passed by `now`.
    pub fn on_deadline(&mut self, now: Instant) -> Vec<Outcome> {
        let window = Duration::from_millis(self.config.window_ms);
        let mut out = Vec::new();
        for i in 0..self.rounds.len() {
            if self.rounds[i].winner.is_none() && now >= self.rounds[i].opened + window {
                out.extend(self.decide(i, now));
            }
        }
        self.forget_old(now);
        out
    }

    fn decide(&mut self, index: usize, now: Instant) -> Vec<Outcome> {
        let margin = self.config.score_margin;
        let busy = &self.busy;
        let round = &mut self.rounds[index];
        let best_score = round.candidates.iter().map(|c| c.heard.score).fold(f32::MIN, f32::max);
        let rank = |c: &Candidate| {
            let in_conversation = busy.contains(&c.site);
            let good_enough = c.heard.score >= best_score - margin;
            (in_conversation, good_enough, c.heard.level_dbfs, c.heard.score)
        };
        let Some(best) = round
            .candidates
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| rank(a).partial_cmp(&rank(b)).unwrap_or(std::cmp::Ordering::Equal))
            .map(|(i, _)| i)
        else {
            return Vec::new();
        };
        let candidates = std::mem::take(&mut round.candidates);
        let winner_site = candidates[best].site.clone();
        round.winner = Some(winner_site.clone());
        let waited = now.duration_since(round.opened);
        let rivals = candidates.len() - 1;
        let mut out = Vec::with_capacity(candidates.len());
        let mut losers = Vec::new();
        for (i, c) in candidates.into_iter().enumerate() {
            if i == best {
                out.push(Outcome::Won { site: c.site, heard: c.heard, waited, rivals });
            } else {
                let winner_site = winner_site.clone();
                losers.push(Outcome::Lost { site: c.site, heard: c.heard, winner_site, reason: LostReason::Weaker });
            }
        }
        // The winner first: its turn should not wait behind the losers' messages.
        out.extend(losers);
        out
    }

    fn forget_old(&mut self, now: Instant) {
        let late = Duration::from_millis(self.config.late_ms);
        self.rounds.retain(|r| r.winner.is_none() || now.duration_since(r.opened) <= late);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(word: &str, score: f32, level_dbfs: f32) -> WakeHeard {
        WakeHeard {
            session_id: format!("{word}-{score}-{level_dbfs}"),
            word: word.into(),
            score,
            level_dbfs,
            timestamp_ms: 0,
            barge_in: false,
        }
    }

    fn winner(outcomes: &[Outcome]) -> Option<&str> {
        outcomes.iter().find_map(|o| match o {
            Outcome::Won { site, .. } => Some(site.as_str()),
            _ => None,
        })
    }

    fn arbiter() -> Arbiter {
        Arbiter::new(ArbiterConfig::default())
    }

    #[test]
    fn one_site_is_decided_at_once_when_it_is_the_only_one_listening() {
        let mut a = arbiter();
        a.on_wake_state("kitchen", true);
        let t = Instant::now();
        let out = a.on_heard("kitchen", heard("hey_jarvis", 0.9, -30.0), t);
        assert_eq!(winner(&out), Some("kitchen"));
        let Outcome::Won { waited, rivals, .. } = &out[0] else { panic!("{out:?}") };
        assert_eq!((*waited, *rivals), (Duration::ZERO, 0));
        assert_eq!(a.next_deadline(), None);
    }

    #[test]
    fn the_loudest_of_equally_sure_sites_wins_after_the_window() {
        let mut a = arbiter();
        for s in ["kitchen", "hall", "office", "garage"] {
            a.on_wake_state(s, true);
        }
        let t = Instant::now();
        assert!(a.on_heard("hall", heard("hey_jarvis", 0.97, -40.0), t).is_empty());
        assert!(a.on_heard("kitchen", heard("hey_jarvis", 0.93, -22.0), t + Duration::from_millis(60)).is_empty());
        assert!(a.on_heard("office", heard("hey_jarvis", 0.99, -35.0), t + Duration::from_millis(140)).is_empty());
        assert_eq!(a.next_deadline(), Some(t + Duration::from_millis(150)));
        assert!(a.on_deadline(t + Duration::from_millis(149)).is_empty());
        let out = a.on_deadline(t + Duration::from_millis(150));
        assert_eq!(winner(&out), Some("kitchen"));
        assert_eq!(out.len(), 3);
        assert!(matches!(&out[0], Outcome::Won { rivals: 2, .. }), "the winner comes first: {out:?}");
        for o in &out[1..] {
            assert!(matches!(o, Outcome::Lost { winner_site, reason: LostReason::Weaker, .. } if winner_site == "kitchen"));
        }
    }

    #[test]
    fn a_clearly_better_score_beats_a_louder_site() {
        let mut a = arbiter();
        a.on_wake_state("near", true);
        a.on_wake_state("far", true);
        let t = Instant::now();
        a.on_heard("near", heard("hey_jarvis", 0.55, -20.0), t);
        let out = a.on_heard("far", heard("hey_jarvis", 0.95, -35.0), t + Duration::from_millis(10));
        assert_eq!(winner(&out), Some("far"), "both listening rooms answered: decided at once");
    }

    #[test]
    fn a_site_in_a_conversation_keeps_it() {
        let mut a = arbiter();
        a.on_wake_state("kitchen", true);
        a.on_wake_state("hall", true);
        a.on_busy("kitchen", true);
        let t = Instant::now();
        a.on_heard("hall", heard("hey_jarvis", 0.99, -20.0), t);
        let out = a.on_heard("kitchen", heard("hey_jarvis", 0.9, -45.0), t + Duration::from_millis(20));
        assert_eq!(winner(&out), Some("kitchen"));
        a.on_busy("kitchen", false);
        let t = t + Duration::from_secs(5);
        a.on_heard("hall", heard("hey_jarvis", 0.99, -20.0), t);
        let out = a.on_heard("kitchen", heard("hey_jarvis", 0.9, -45.0), t + Duration::from_millis(20));
        assert_eq!(winner(&out), Some("hall"));
    }

    #[test]
    fn late_candidates_of_the_same_word_lose_and_new_words_open_new_rounds() {
        let mut a = arbiter();
        a.on_wake_state("kitchen", true);
        a.on_wake_state("hall", true);
        let t = Instant::now();
        a.on_heard("kitchen", heard("hey_jarvis", 0.9, -25.0), t);
        let out = a.on_heard("hall", heard("hey_jarvis", 0.9, -30.0), t + Duration::from_millis(40));
        assert_eq!(winner(&out), Some("kitchen"), "everyone answered: decided before the window");
        let late = a.on_heard("garage", heard("hey_jarvis", 0.9, -10.0), t + Duration::from_millis(400));
        assert!(matches!(&late[..], [Outcome::Lost { reason: LostReason::Late, winner_site, .. }] if winner_site == "kitchen"));
        // Another word is another round; the same word after late_ms is a new utterance.
        let other = a.on_heard("hall", heard("alexa", 0.9, -30.0), t + Duration::from_millis(500));
        assert!(other.is_empty());
        assert_eq!(winner(&a.on_deadline(t + Duration::from_millis(650))), Some("hall"));
        let again = a.on_heard("hall", heard("hey_jarvis", 0.9, -30.0), t + Duration::from_millis(1_200));
        assert!(again.is_empty(), "garage listens now, so hall waits for it: {again:?}");
        assert_eq!(winner(&a.on_deadline(t + Duration::from_millis(1_350))), Some("hall"));
    }

    #[test]
    fn config_errors_name_the_key() {
        let bad = |c: ArbiterConfig| c.validate().unwrap_err().0;
        assert_eq!(bad(ArbiterConfig { window_ms: 5_000, ..Default::default() }), "arbiter.window_ms");
        assert_eq!(bad(ArbiterConfig { score_margin: 2.0, ..Default::default() }), "arbiter.score_margin");
        assert_eq!(bad(ArbiterConfig { late_ms: 10, ..Default::default() }), "arbiter.late_ms");
        assert!(ArbiterConfig::default().validate().is_ok());
    }
}
