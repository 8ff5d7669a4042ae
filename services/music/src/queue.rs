//! The play queue of one room: what plays, in which order, shuffle and repeat. Pure logic: the
//! service asks it what comes next and tells it what the speaker reached.

use hearth_bus::music::RepeatMode;
use rand::seq::SliceRandom;

/// Something that plays: a library track (a copy of its entry: a rescan may renumber the index)
/// or an internet station.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Track(std::sync::Arc<crate::library::Track>),
    Station(crate::radio::Station),
}

/// The queue.
#[derive(Debug, Clone, Default)]
pub struct Queue {
    pub items: Vec<Item>,
    /// The item playing (or paused), an index into `items`.
    pub position: usize,
    pub shuffle: bool,
    pub repeat: RepeatMode,
}

impl Queue {
    /// A new queue; shuffled when asked.
    pub fn new(mut items: Vec<Item>, shuffle: bool, repeat: RepeatMode) -> Queue {
        if shuffle {
            items.shuffle(&mut rand::thread_rng());
        }
        Queue { items, position: 0, shuffle, repeat }
    }

    pub fn current(&self) -> Option<&Item> {
        self.items.get(self.position)
    }

    /// The position after `from` when it ends by itself: the same one on repeat-one, the first
    /// after the last on repeat-all, `None` at the end.
    pub fn after(&self, from: usize) -> Option<usize> {
        match self.repeat {
            RepeatMode::One => Some(from),
            _ if from + 1 < self.items.len() => Some(from + 1),
            RepeatMode::All if !self.items.is_empty() => Some(0),
            _ => None,
        }
    }

    /// "Next": the following item even on repeat-one (the user asked to skip); wraps on repeat-all.
    pub fn skip_forward(&self, from: usize) -> Option<usize> {
        if from + 1 < self.items.len() {
            Some(from + 1)
        } else if self.repeat == RepeatMode::All && !self.items.is_empty() {
            Some(0)
        } else {
            None
        }
    }

    /// "Previous": the item before, the first one stays the first.
    pub fn skip_back(&self, from: usize) -> usize {
        from.saturating_sub(1)
    }

    /// Shuffle on: the items after the current one are shuffled; off: left in their order.
    pub fn set_shuffle(&mut self, on: bool) {
        self.shuffle = on;
        if on && self.position + 1 < self.items.len() {
            self.items[self.position + 1..].shuffle(&mut rand::thread_rng());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: usize) -> Item {
        Item::Station(crate::radio::Station { name: n.to_string(), url: String::new() })
    }

    fn queue(n: usize, repeat: RepeatMode) -> Queue {
        Queue::new((0..n).map(item).collect(), false, repeat)
    }

    #[test]
    fn next_previous_and_repeat() {
        let q = queue(3, RepeatMode::Off);
        assert_eq!((q.after(0), q.after(2)), (Some(1), None));
        assert_eq!(q.skip_forward(2), None);
        assert_eq!((q.skip_back(0), q.skip_back(2)), (0, 1));
        let q = queue(3, RepeatMode::All);
        assert_eq!((q.after(2), q.skip_forward(2)), (Some(0), Some(0)));
        let q = queue(3, RepeatMode::One);
        assert_eq!((q.after(1), q.skip_forward(1)), (Some(1), Some(2)));
    }

    #[test]
    fn shuffle_keeps_every_item_and_the_current_one() {
        let mut q = queue(50, RepeatMode::Off);
        q.position = 3;
        q.set_shuffle(true);
        assert_eq!(q.current(), Some(&item(3)));
        let mut all: Vec<usize> = q.items.iter().map(|i| match i { Item::Station(s) => s.name.parse().unwrap(), _ => 0 }).collect();
        assert_ne!(all[4..], (4..50).collect::<Vec<_>>()[..], "50 items shuffled into their own order is a 1 in 10^62 chance");
        all.sort();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
    }
}
