//! The contact book (`[brain.messages]`) and how a spoken name finds a contact. Speech recognition
//! spells names its own way ("Alec", "mum"), so each contact lists aliases as ASR writes them; a name
//! that matches no spelling exactly but sounds close to one contact is read back with the contact's
//! name, and one close to several is asked back ("Alex or Alice?"). Nothing here sends anything.

use serde::{Deserialize, Serialize};

/// Jaro-Winkler similarity from which a heard name counts as close to a spelling. "Alix" is 0.87 to
/// "Alex" and 0.85 to "Alice"; "Bob" is below 0.6 to both.
const CLOSE: f64 = 0.8;
/// Contacts whose best similarity is within this of the best one are all candidates (asked back).
const AMBIGUITY_MARGIN: f64 = 0.05;
/// At most this many names in a question back.
const MAX_ASKED: usize = 3;

/// The `[brain.messages]` table: the contact book and the hand-off's timeouts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MessagesConfig {
    /// Longest wait for the handler's `message/result` or `call/result`, milliseconds; then "I couldn't
    /// send it: no message service answered."
    pub result_timeout_ms: u64,
    /// How long a read-back or a question back ("Alex or Alice?") waits for its answer, milliseconds,
    /// from when it was asked; a spoken one also ends with its follow-up window. Then nothing is sent.
    pub confirm_timeout_ms: u64,
    /// `[[brain.messages.contacts]]`: who can be messaged or called.
    pub contacts: Vec<Contact>,
}

impl Default for MessagesConfig {
    fn default() -> Self {
        Self { result_timeout_ms: 10_000, confirm_timeout_ms: 60_000, contacts: Vec::new() }
    }
}

/// One contact. Its channel and address travel in the request; the keys stay with the handler.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The name spoken back ("Message to Alex: …") and sent as `contact`.
    pub name: String,
    /// Other ways the contact is named or speech recognition spells the name ("alec", "mum", "my sister").
    #[serde(default)]
    pub aliases: Vec<String>,
    /// What the handler knows the service by: `signal`, `telegram`, `sms`, `email`, a Home Assistant
    /// notify service (`mobile_app_alex_phone`).
    pub channel: String,
    /// Where on the channel: a phone number, a chat id, an e-mail address; may be empty.
    #[serde(default)]
    pub address: String,
    /// The channel for calls, when it differs (`phone`); else `channel`.
    #[serde(default)]
    pub call_channel: Option<String>,
    /// The address for calls; else `address`.
    #[serde(default)]
    pub call_address: Option<String>,
    /// Send without reading back when the contact is named exactly (trusted automations, a shared
    /// family channel). A name found only by similarity is read back all the same.
    #[serde(default)]
    pub skip_confirmation: bool,
}

impl Contact {
    /// Every spelling the contact answers to, normalised.
    fn spellings(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(&self.name).chain(&self.aliases).map(|s| normalise(s))
    }

    /// The channel and address calls go to.
    pub fn call_target(&self) -> (&str, &str) {
        (self.call_channel.as_deref().unwrap_or(&self.channel), self.call_address.as_deref().unwrap_or(&self.address))
    }
}

/// How a heard name resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'a> {
    /// The name or an alias, exactly (ignoring case, punctuation and a leading "my").
    Exact(&'a Contact),
    /// Not exact, but close to this one contact only.
    Close(&'a Contact),
    /// Close to several: ask which (best first).
    Ambiguous(Vec<&'a Contact>),
    NotFound,
}

impl MessagesConfig {
    /// Checks the values and the contact book; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.result_timeout_ms < 100 {
            return Err(("brain.messages.result_timeout_ms", "must be at least 100".into()));
        }
        if self.confirm_timeout_ms < 1_000 {
            return Err(("brain.messages.confirm_timeout_ms", "must be at least 1000".into()));
        }
        const KEY: &str = "brain.messages.contacts";
        let mut seen: Vec<(String, &str)> = Vec::new();
        for (n, contact) in self.contacts.iter().enumerate() {
            let which = format!("contact {} ({:?})", n + 1, contact.name);
            if normalise(&contact.name).is_empty() {
                return Err((KEY, format!("contact {} has no name", n + 1)));
            }
            if contact.channel.trim().is_empty() {
                return Err((KEY, format!("{which} has no channel (signal, telegram, sms, a notify service, …)")));
            }
            if contact.aliases.iter().any(|a| normalise(a).is_empty()) {
                return Err((KEY, format!("{which} has an empty alias")));
            }
            for spelling in contact.spellings() {
                match seen.iter().find(|(s, other)| *s == spelling && *other != contact.name) {
                    Some((_, other)) => {
                        return Err((KEY, format!("{which}: {spelling:?} also names {other:?}; a spoken name must find one contact")));
                    }
                    None => seen.push((spelling, &contact.name)),
                }
            }
        }
        Ok(())
    }

    /// The contact a heard name means, among all of them.
    pub fn lookup(&self, heard: &str) -> Lookup<'_> {
        lookup_in(self.contacts.iter(), heard)
    }

    /// The contact with this name or alias exactly, or whose address is `heard` (an incoming message's
    /// sender may be a phone number).
    pub fn find_sender(&self, from: &str) -> Option<&Contact> {
        let heard = normalise(from);
        self.contacts
            .iter()
            .find(|c| c.spellings().any(|s| s == heard) || (!c.address.is_empty() && c.address.trim() == from.trim()))
    }
}

/// The contact a heard name means among `contacts` (all of them, or the candidates of a question back).
pub fn lookup_in<'a>(contacts: impl Iterator<Item = &'a Contact> + Clone, heard: &str) -> Lookup<'a> {
    let heard = normalise(heard);
    if heard.is_empty() {
        return Lookup::NotFound;
    }
    if let Some(c) = contacts.clone().find(|c| c.spellings().any(|s| s == heard)) {
        return Lookup::Exact(c);
    }
    let mut scored: Vec<(f64, &Contact)> = contacts
        .map(|c| (c.spellings().map(|s| strsim::jaro_winkler(&s, &heard)).fold(0.0, f64::max), c))
        .filter(|(score, _)| *score >= CLOSE)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let Some(&(best, _)) = scored.first() else { return Lookup::NotFound };
    let mut close: Vec<&Contact> = scored.into_iter().filter(|(s, _)| best - s <= AMBIGUITY_MARGIN).map(|(_, c)| c).collect();
    close.truncate(MAX_ASKED);
    match close.len() {
        1 => Lookup::Close(close[0]),
        _ => Lookup::Ambiguous(close),
    }
}

/// "Alex or Alice?", "Alex, Alice or Alina?".
pub fn which_one(candidates: &[&Contact]) -> String {
    let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}?", rest.join(", ")),
        Some((only, _)) => format!("{only}?"),
        None => String::new(),
    }
}

/// Lower case, letters and digits only, single spaces, without a leading "my" or "the".
pub fn normalise(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| *c != '\'' && *c != '’')
        .map(|c| if c.is_alphanumeric() { c.to_lowercase().next().unwrap_or(c) } else { ' ' })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let words = match words.as_slice() {
        [first, rest @ ..] if !rest.is_empty() && matches!(*first, "my" | "the") => rest,
        all => all,
    };
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: &str, aliases: &[&str]) -> Contact {
        Contact {
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            channel: "signal".into(),
            address: "+100".into(),
            call_channel: None,
            call_address: None,
            skip_confirmation: false,
        }
    }

    fn book() -> MessagesConfig {
        MessagesConfig {
            contacts: vec![contact("Alex", &["alec"]), contact("Alice", &[]), contact("Mom", &["mum", "mother"])],
            ..MessagesConfig::default()
        }
    }

    fn name(lookup: Lookup<'_>) -> String {
        match lookup {
            Lookup::Exact(c) => format!("exact {}", c.name),
            Lookup::Close(c) => format!("close {}", c.name),
            Lookup::Ambiguous(cs) => format!("ask {}", which_one(&cs)),
            Lookup::NotFound => "none".into(),
        }
    }

    #[test]
    fn names_and_aliases_match_exactly_whatever_the_case_or_punctuation() {
        let book = book();
        assert_eq!(name(book.lookup("Alex")), "exact Alex");
        assert_eq!(name(book.lookup("alec.")), "exact Alex");
        assert_eq!(name(book.lookup("my Mum")), "exact Mom");
        assert_eq!(name(book.lookup("ALICE")), "exact Alice");
    }

    #[test]
    fn a_misheard_name_close_to_two_is_asked_back_and_to_one_is_taken() {
        let book = book();
        assert_eq!(name(book.lookup("Alix")), "ask Alex or Alice?");
        assert_eq!(name(book.lookup("Mommy")), "close Mom");
        assert_eq!(name(book.lookup("Bob")), "none");
        assert_eq!(name(book.lookup("")), "none");
    }

    #[test]
    fn a_question_back_is_answered_among_its_candidates() {
        let book = book();
        let candidates = [&book.contacts[0], &book.contacts[1]];
        assert_eq!(name(lookup_in(candidates.into_iter(), "Alice")), "exact Alice");
        assert_eq!(name(lookup_in(candidates.into_iter(), "Mom")), "none");
    }

    #[test]
    fn senders_are_found_by_name_alias_or_address() {
        let book = book();
        assert_eq!(book.find_sender("mum").map(|c| c.name.as_str()), Some("Mom"));
        assert_eq!(book.find_sender("+100").map(|c| c.name.as_str()), Some("Alex"));
        assert_eq!(book.find_sender("Stranger"), None);
    }

    #[test]
    fn a_bad_contact_book_names_the_key_and_the_contact() {
        assert_eq!(book().validate(), Ok(()));
        let mut twice = book();
        twice.contacts[1].aliases.push("Alec".into());
        let (key, why) = twice.validate().unwrap_err();
        assert_eq!(key, "brain.messages.contacts");
        assert!(why.contains("contact 2 (\"Alice\")") && why.contains("\"alec\" also names \"Alex\""), "{why}");
        let mut no_channel = book();
        no_channel.contacts[2].channel = " ".into();
        assert!(no_channel.validate().unwrap_err().1.contains("contact 3 (\"Mom\") has no channel"));
        let slow = MessagesConfig { result_timeout_ms: 5, ..book() };
        assert_eq!(slow.validate().unwrap_err().0, "brain.messages.result_timeout_ms");
    }

    #[test]
    fn a_contact_book_deserialises_with_defaults() {
        let config: MessagesConfig = serde_json::from_str(
            r#"{"contacts": [{"name": "Alex", "aliases": ["alec"], "channel": "telegram", "address": "12345",
                "call_channel": "phone", "skip_confirmation": true}]}"#,
        )
        .unwrap();
        let alex = &config.contacts[0];
        assert_eq!(alex.call_target(), ("phone", "12345"));
        assert!(alex.skip_confirmation);
        assert_eq!(config.result_timeout_ms, 10_000);
    }
}
