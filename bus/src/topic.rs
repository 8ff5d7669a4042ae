//! The topic tree: `hearth/<site>/<domain>/<event>`.
//!
//! A site is a room or satellite (`kitchen`, `default`). Services that serve every site subscribe with
//! the `+` wildcard in the site position. Tool calls carry the tool name as a last level so each tool
//! service subscribes only to what it serves.

use crate::codec::Message;

/// First level of every Hearth topic.
pub const ROOT: &str = "hearth";

/// The site used when none is configured.
pub const DEFAULT_SITE: &str = "default";

/// `hearth/<site>/<suffix>`.
pub fn topic(site: &str, suffix: &str) -> String {
    format!("{ROOT}/{site}/{suffix}")
}

/// The topic a message of type `M` is published on for `site`.
pub fn topic_of<M: Message>(site: &str) -> String {
    topic(site, M::SUFFIX)
}

/// The filter that matches `M` on every site: `hearth/+/<suffix>`.
pub fn filter_all_sites<M: Message>() -> String {
    topic("+", M::SUFFIX)
}

/// Splits `hearth/<site>/<rest>` into `(site, rest)`; `None` for topics outside the tree.
pub fn split(topic: &str) -> Option<(&str, &str)> {
    let rest = topic.strip_prefix(ROOT)?.strip_prefix('/')?;
    let (site, suffix) = rest.split_once('/')?;
    if site.is_empty() || suffix.is_empty() {
        return None;
    }
    Some((site, suffix))
}

/// Checks that a site name is usable as one topic level.
pub fn validate_site(site: &str) -> Result<(), String> {
    if site.is_empty() {
        return Err("must not be empty".into());
    }
    if site.chars().any(|c| matches!(c, '/' | '+' | '#') || c.is_whitespace() || c.is_control()) {
        return Err(format!("{site:?} may not contain '/', '+', '#' or white space"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_site_and_suffix() {
        assert_eq!(split("hearth/kitchen/wake/detected"), Some(("kitchen", "wake/detected")));
        assert_eq!(split("hearth/kitchen"), None);
        assert_eq!(split("other/kitchen/x"), None);
        assert_eq!(split("hearthx/kitchen/x"), None);
    }

    #[test]
    fn rejects_bad_sites() {
        assert!(validate_site("living_room").is_ok());
        assert!(validate_site("a/b").is_err());
        assert!(validate_site("+").is_err());
        assert!(validate_site("").is_err());
    }
}
