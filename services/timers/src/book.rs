//! The timer book: pure logic over a list of timers and "now". No clocks, no I/O, so every rule is
//! tested with explicit times.

use hearth_bus::timer::Timer;
use hearth_node::words;

/// Longest timer, also after time is added: one day.
pub const MAX_DURATION_S: u64 = 86_400;

/// What a `cancel_timer` call asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelTarget {
    /// The only running timer (an error to speak when there are several).
    TheOne,
    Named(String),
    All,
}

/// Running timers of every site, soonest first.
#[derive(Debug, Default, Clone)]
pub struct TimerBook {
    timers: Vec<Timer>,
}

impl TimerBook {
    pub fn new(mut timers: Vec<Timer>) -> Self {
        timers.sort_by_key(|t| t.due_at_ms);
        Self { timers }
    }

    pub fn all(&self) -> &[Timer] {
        &self.timers
    }

    pub fn for_site(&self, site: &str) -> Vec<Timer> {
        self.timers.iter().filter(|t| t.site == site).cloned().collect()
    }

    /// Sites that have or had timers, for republishing state.
    pub fn sites(&self) -> Vec<String> {
        let mut s: Vec<String> = self.timers.iter().map(|t| t.site.clone()).collect();
        s.sort();
        s.dedup();
        s
    }

    /// The next due time, Unix milliseconds.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.timers.first().map(|t| t.due_at_ms)
    }

    /// Adds a timer and returns the sentence that confirms it.
    pub fn add(&mut self, timer: Timer) -> String {
        let length = words::duration(timer.duration_ms.div_ceil(1000));
        let sentence = match &timer.name {
            Some(name) => format!("Okay, {name} timer for {length}, starting now."),
            None => format!("Okay, {length}, starting now."),
        };
        self.timers.push(timer);
        self.timers.sort_by_key(|t| t.due_at_ms);
        sentence
    }

    /// Removes what `target` names at `site`; returns the removed timers and the sentence to speak.
    pub fn cancel(&mut self, site: &str, target: &CancelTarget) -> (Vec<Timer>, String) {
        let here = self.for_site(site);
        let chosen: Vec<Timer> = match target {
            CancelTarget::All => here.clone(),
            CancelTarget::Named(name) => here.iter().filter(|t| same_name(t, name)).cloned().collect(),
            CancelTarget::TheOne if here.len() == 1 => here.clone(),
            CancelTarget::TheOne => Vec::new(),
        };
        let sentence = match (target, here.len(), chosen.len()) {
            (_, 0, _) => "You don't have any timers running.".to_string(),
            (CancelTarget::Named(name), _, 0) => format!("I couldn't find a {name} timer."),
            (CancelTarget::TheOne, n, 0) => format!(
                "You have {} timers: {}. Say which one to cancel, or say cancel all timers.",
                words::number(n as u64),
                here.iter().map(label).collect::<Vec<_>>().join(", ")
            ),
            (_, _, 1) => format!("Okay, I cancelled {}.", label(&chosen[0])),
            (_, _, n) => format!("Okay, I cancelled all {} timers.", words::number(n as u64)),
        };
        self.timers.retain(|t| !chosen.iter().any(|c| c.id == t.id));
        (chosen, sentence)
    }

    /// Adds `seconds` to the timer called `name`, or to the only one at `site`; returns the changed timer
    /// (if any) and the sentence to speak.
    pub fn extend(&mut self, site: &str, name: Option<&str>, seconds: u64, now_ms: i64) -> (Option<Timer>, String) {
        let here = self.for_site(site);
        let chosen: Vec<&Timer> = match name {
            Some(n) => here.iter().filter(|t| same_name(t, n)).collect(),
            None => here.iter().collect(),
        };
        let target = match (name, here.len(), chosen.as_slice()) {
            (_, 0, _) => return (None, "You don't have any timers running.".to_string()),
            (Some(n), _, []) => return (None, format!("I couldn't find a {n} timer.")),
            (_, _, [one]) => (*one).clone(),
            (_, n, _) => {
                let labels: Vec<String> = here.iter().map(label).collect();
                return (None, format!("You have {} timers: {}. Say which one to add time to.", words::number(n as u64), labels.join(", ")));
            }
        };
        let left_s = ((target.due_at_ms - now_ms).max(0) as u64).div_ceil(1000);
        if left_s + seconds > MAX_DURATION_S {
            return (None, "Timers can run for at most one day.".to_string());
        }
        let Some(timer) = self.timers.iter_mut().find(|t| t.id == target.id) else {
            return (None, "You don't have any timers running.".to_string());
        };
        timer.due_at_ms += seconds as i64 * 1000;
        timer.duration_ms += seconds * 1000;
        let changed = timer.clone();
        self.timers.sort_by_key(|t| t.due_at_ms);
        let sentence = format!(
            "Okay, I added {} to {}. {} left.",
            words::duration(seconds),
            label(&target),
            capitalise(&words::duration(left_s + seconds))
        );
        (Some(changed), sentence)
    }

    /// The spoken answer to "how long is left", for one named timer or all at `site`.
    pub fn status(&self, site: &str, name: Option<&str>, now_ms: i64) -> String {
        let here = self.for_site(site);
        let chosen: Vec<&Timer> = match name {
            Some(n) => here.iter().filter(|t| same_name(t, n)).collect(),
            None => here.iter().collect(),
        };
        let left = |t: &Timer| words::duration(((t.due_at_ms - now_ms).max(0) as u64).div_ceil(1000));
        match (name, chosen.len()) {
            (_, 0) if here.is_empty() => "You don't have any timers running.".to_string(),
            (Some(n), 0) => format!("I couldn't find a {n} timer."),
            (_, 1) => format!("There's {} left on {}.", left(chosen[0]), label(chosen[0])),
            (_, n) => {
                let parts: Vec<String> = chosen.iter().map(|t| format!("{} left on {}", left(t), label(t))).collect();
                format!("You have {} timers. {}.", words::number(n as u64), capitalise(&parts.join("; ")))
            }
        }
    }

    /// Removes and returns the timers due at `now_ms`.
    pub fn take_due(&mut self, now_ms: i64) -> Vec<Timer> {
        let split = self.timers.partition_point(|t| t.due_at_ms <= now_ms);
        self.timers.drain(..split).collect()
    }
}

/// "your pasta timer", "your ten second timer".
pub fn label(t: &Timer) -> String {
    match &t.name {
        Some(name) => format!("your {name} timer"),
        None => format!("your {} timer", unit_label(t.duration_ms.div_ceil(1000))),
    }
}

/// The announcement when a timer is due; mentions lateness when it fell due while we were down.
pub fn announcement(t: &Timer, late_ms: u64) -> String {
    let what = capitalise(&label(t));
    if late_ms >= 60_000 {
        format!("{what} went off {} ago, while I was offline.", words::duration(late_ms / 1000))
    } else {
        format!("{what} is done.")
    }
}

/// "ten second", "five minute", "one and a half minute" (the adjective form: singular unit).
fn unit_label(total_s: u64) -> String {
    words::duration(total_s).replace("seconds", "second").replace("minutes", "minute").replace("hours", "hour")
}

fn same_name(t: &Timer, name: &str) -> bool {
    t.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name.trim()))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(id: &str, name: Option<&str>, duration_s: u64, now: i64) -> Timer {
        Timer {
            id: id.into(),
            name: name.map(Into::into),
            site: "default".into(),
            duration_ms: duration_s * 1000,
            due_at_ms: now + duration_s as i64 * 1000,
            created_at_ms: now,
        }
    }

    #[test]
    fn set_status_and_due() {
        let mut book = TimerBook::default();
        assert_eq!(book.add(timer("a", None, 10, 0)), "Okay, ten seconds, starting now.");
        assert_eq!(book.add(timer("b", Some("pasta"), 90, 0)), "Okay, pasta timer for one and a half minutes, starting now.");
        assert_eq!(book.status("default", Some("pasta"), 0), "There's one and a half minutes left on your pasta timer.");
        assert_eq!(
            book.status("default", None, 5_000),
            "You have two timers. Five seconds left on your ten second timer; one minute and twenty-five seconds left on your pasta timer."
        );
        assert!(book.take_due(9_999).is_empty());
        let due = book.take_due(10_000);
        assert_eq!(due.len(), 1);
        assert_eq!(announcement(&due[0], 0), "Your ten second timer is done.");
        assert_eq!(book.next_due_ms(), Some(90_000));
    }

    #[test]
    fn cancelling() {
        let mut book = TimerBook::default();
        assert_eq!(book.cancel("default", &CancelTarget::TheOne).1, "You don't have any timers running.");
        book.add(timer("a", Some("eggs"), 60, 0));
        book.add(timer("b", Some("pasta"), 600, 0));
        let (gone, s) = book.cancel("default", &CancelTarget::TheOne);
        assert!(gone.is_empty());
        assert!(s.starts_with("You have two timers: your eggs timer, your pasta timer."), "{s}");
        assert_eq!(book.cancel("default", &CancelTarget::Named("rice".into())).1, "I couldn't find a rice timer.");
        assert_eq!(book.cancel("default", &CancelTarget::Named("Pasta".into())).1, "Okay, I cancelled your pasta timer.");
        book.add(timer("c", None, 30, 0));
        assert_eq!(book.cancel("default", &CancelTarget::All).1, "Okay, I cancelled all two timers.");
        assert!(book.all().is_empty());
    }

    #[test]
    fn adding_time() {
        let mut book = TimerBook::default();
        assert_eq!(book.extend("default", None, 60, 0).1, "You don't have any timers running.");
        book.add(timer("a", Some("pasta"), 600, 0));
        let (changed, s) = book.extend("default", None, 300, 120_000);
        assert_eq!(s, "Okay, I added five minutes to your pasta timer. Thirteen minutes left.");
        let changed = changed.unwrap();
        assert_eq!((changed.due_at_ms, changed.duration_ms), (900_000, 900_000));
        assert_eq!(book.next_due_ms(), Some(900_000));
        book.add(timer("b", None, 60, 0));
        assert!(book.extend("default", None, 60, 0).1.ends_with("Say which one to add time to."));
        assert_eq!(book.extend("default", Some("rice"), 60, 0).1, "I couldn't find a rice timer.");
        assert!(book.extend("default", Some("Pasta"), 60, 0).0.is_some());
        assert_eq!(book.extend("default", Some("pasta"), 86_400, 0).1, "Timers can run for at most one day.");
        // The other timer is now due first.
        assert_eq!(book.next_due_ms(), Some(60_000));
    }

    #[test]
    fn other_sites_are_separate() {
        let mut book = TimerBook::default();
        let mut t = timer("a", None, 10, 0);
        t.site = "kitchen".into();
        book.add(t);
        assert_eq!(book.status("default", None, 0), "You don't have any timers running.");
        assert_eq!(book.sites(), vec!["kitchen".to_string()]);
    }

    #[test]
    fn late_announcement() {
        let t = timer("a", Some("pasta"), 60, 0);
        assert_eq!(announcement(&t, 180_000), "Your pasta timer went off three minutes ago, while I was offline.");
    }
}
