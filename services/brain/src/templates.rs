//! The local matcher over hearth-intents' sentence templates: the built-in templates plus the user's
//! own, compiled at start. A match whose tool neither the brain (messages and calls) nor an online
//! service answers (the music tools on most installs) is left to the LLM rather than
//! published to nobody. Each site's last local match is kept while its conversation lasts, so "what
//! about tomorrow?" in the follow-up window continues it.

use std::collections::BTreeMap;
use std::path::Path;

use hearth_intents::{IntentMatch, Intents, IntentsError, Response};
use tracing::{debug, warn};

use crate::local::{LocalContext, LocalMatch, LocalMatcher};

/// The brain's own action an intent may name.
const STOP_ACTION: &str = "stop";

pub struct TemplateMatcher {
    intents: Intents,
    /// Each site's last local match, for follow-ups; gone when the site's conversation ends.
    previous: BTreeMap<String, IntentMatch>,
}

impl TemplateMatcher {
    /// The built-in templates, then the `*.toml` files in `user_dir`; a malformed file is an error that
    /// names its file, line and problem.
    pub fn load(user_dir: Option<&Path>) -> Result<TemplateMatcher, IntentsError> {
        Ok(TemplateMatcher::new(Intents::load(user_dir)?))
    }

    pub fn new(intents: Intents) -> TemplateMatcher {
        TemplateMatcher { intents, previous: BTreeMap::new() }
    }

    /// The intent names, for the brain's capabilities.
    pub fn intent_names(&self) -> Vec<&str> {
        self.intents.intent_names()
    }

    /// What `m` does here, or `None` when it must go to the LLM.
    fn answer(m: &IntentMatch, context: &LocalContext<'_>) -> Option<LocalMatch> {
        match &m.response {
            Response::Tool(tool) if !context.tools.serves(tool) => {
                debug!(intent = %m.intent, %tool, "no online service serves this tool: left to the LLM");
                None
            }
            Response::Tool(_) => {
                let call = m.tool_calls().into_iter().next()?;
                Some(LocalMatch::Tool { tool: call.tool, arguments: call.arguments })
            }
            Response::Speech(sentence) => Some(LocalMatch::Say(sentence.clone())),
            Response::Action(action) if action == STOP_ACTION => Some(LocalMatch::StopPlayback),
            Response::Action(action) => {
                warn!(intent = %m.intent, %action, "unknown brain action in the templates: left to the LLM");
                None
            }
        }
    }
}

impl LocalMatcher for TemplateMatcher {
    fn match_local(&mut self, text: &str, context: &LocalContext<'_>) -> Option<LocalMatch> {
        let previous = if context.follow_up { self.previous.get(context.site) } else { None };
        let Some(m) = self.intents.recognize_in_context(text, previous) else {
            // The LLM answers this one; a later "what about tomorrow?" is about its answer, not ours.
            self.previous.remove(context.site);
            return None;
        };
        let answer = TemplateMatcher::answer(&m, context);
        debug!(site = context.site, intent = %m.intent, slots = %m.slots_line(), local = answer.is_some(), "intent");
        if answer.is_some() {
            self.previous.insert(context.site.to_string(), m);
        } else {
            self.previous.remove(context.site);
        }
        answer
    }

    fn end_conversation(&mut self, site: &str) {
        self.previous.remove(site);
    }
}
