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

/// Which sites a per-room service (wake, listen) serves: the listed ones, or every site. Two machines
/// each serving only their own rooms never answer each other's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sites {
    /// Every site (`sites = ["*"]`): one machine serving every room and browser of the house.
    All,
    Only(Vec<String>),
}

impl Sites {
    /// From a config list: empty means the node's own site, `"*"` every site, else the names listed.
    pub fn from_list(list: &[String], own: &str) -> Result<Sites, String> {
        if list.iter().any(|s| s == "*") {
            return Ok(Sites::All);
        }
        if list.is_empty() {
            return Ok(Sites::Only(vec![own.to_string()]));
        }
        for site in list {
            validate_site(site)?;
        }
        Ok(Sites::Only(list.to_vec()))
    }

    pub fn contains(&self, site: &str) -> bool {
        match self {
            Sites::All => true,
            Sites::Only(list) => list.iter().any(|s| s == site),
        }
    }

    /// The sites named, none for [`Sites::All`].
    pub fn listed(&self) -> &[String] {
        match self {
            Sites::All => &[],
            Sites::Only(list) => list,
        }
    }
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

    #[test]
    fn served_sites() {
        let own = Sites::from_list(&[], "kitchen").unwrap();
        assert!(own.contains("kitchen") && !own.contains("hall"));
        let all = Sites::from_list(&["hall".into(), "*".into()], "kitchen").unwrap();
        assert_eq!(all, Sites::All);
        assert!(all.contains("anything"));
        let two = Sites::from_list(&["hall".into(), "web_1".into()], "kitchen").unwrap();
        assert!(two.contains("web_1") && !two.contains("kitchen"));
        assert!(Sites::from_list(&["a/b".into()], "kitchen").is_err());
    }
}
