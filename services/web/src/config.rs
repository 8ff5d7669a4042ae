//! The `[web]` table of the node file.
//!
//! ```toml
//! [web]
//! listen = "0.0.0.0:8443"
//! [web.users]
//! alex = "a long passphrase"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use hearth_bus::BusConfig;
use hearth_node::config::ConfigError;
use hearth_node::NodeFile;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Where the HTTPS page and its bridge listen. Browsers allow the microphone only on HTTPS (or
    /// localhost), so there is no plain HTTP listener.
    pub listen: SocketAddr,
    /// Who may log in: user name → password. Empty: the page is not served (the service says so).
    pub users: BTreeMap<String, String>,
    /// A certificate (PEM, with its chain) to use instead of the generated one, with `key`.
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of `cert`.
    pub key: Option<PathBuf>,
    /// Extra names and addresses the generated certificate is valid for, besides `localhost`,
    /// `127.0.0.1`, this host's name and `<name>.local`.
    pub names: Vec<String>,
    /// How long a login lasts, hours.
    pub session_hours: u64,
    /// Where the generated certificate is kept: `<data_dir>/web`. Set by [`WebConfig::load`].
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
    /// How the bridge reaches the bus (the node's `[bus]`). Set by [`WebConfig::load`].
    #[serde(skip)]
    pub bus: BusConfig,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            users: BTreeMap::new(),
            cert: None,
            key: None,
            names: Vec::new(),
            session_hours: 24 * 30,
            data_dir: None,
            bus: BusConfig::default(),
        }
    }
}

// Passwords never appear in logs.
impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("listen", &self.listen)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("names", &self.names)
            .field("session_hours", &self.session_hours)
            .finish()
    }
}

impl WebConfig {
    /// Reads and validates `[web]`, taking the bus and data directory from the node settings.
    pub fn load(file: &NodeFile) -> Result<WebConfig, ConfigError> {
        let mut config: WebConfig = file.section("web")?;
        config.validate().map_err(|(key, why)| file.invalid(key, why))?;
        config.data_dir = Some(file.node.data_dir.clone());
        config.bus = file.node.bus.clone();
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.cert.is_some() != self.key.is_some() {
            return Err(("web.key".into(), "cert and key go together".into()));
        }
        for (user, password) in &self.users {
            if user.is_empty() || user.contains(char::is_whitespace) {
                return Err((format!("web.users.{user}"), "a user name has no spaces".into()));
            }
            if password.chars().count() < 8 || password.starts_with("change-me") {
                return Err((format!("web.users.{user}"), "needs a real password of at least 8 characters".into()));
            }
        }
        if self.session_hours == 0 {
            return Err(("web.session_hours".into(), "must be at least 1".into()));
        }
        Ok(())
    }

    /// `<data_dir>/web`: the generated certificate and key.
    pub fn state_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(hearth_node::config::default_data_dir).join("web")
    }

    /// Whether `user` may log in with `password` (compared without an early exit).
    pub fn check_login(&self, user: &str, password: &str) -> bool {
        let Some(expected) = self.users.get(user) else { return false };
        let (a, b) = (expected.as_bytes(), password.as_bytes());
        let mut diff = a.len() ^ b.len();
        for (i, x) in a.iter().enumerate() {
            diff |= (*x ^ b.get(i).copied().unwrap_or(0)) as usize;
        }
        diff == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_and_errors() {
        let file = NodeFile::parse("[web]\nlisten = \"127.0.0.1:9443\"\n[web.users]\nalex = \"correct horse\"\n", None).unwrap();
        let c = WebConfig::load(&file).unwrap();
        assert!(c.check_login("alex", "correct horse"));
        assert!(!c.check_login("alex", "correct hors"));
        assert!(!c.check_login("alex", "correct horse!"));
        assert!(!c.check_login("bob", "correct horse"));
        assert!(!format!("{c:?}").contains("horse"), "passwords stay out of logs");
        let bad = |t: &str| WebConfig::load(&NodeFile::parse(t, None).unwrap()).unwrap_err().to_string();
        assert!(bad("[web.users]\nalex = \"short\"\n").contains("web.users.alex"));
        assert!(bad("[web]\ncert = \"/x.pem\"\n").contains("web.key"));
        assert!(bad("[web]\nport = 1\n").contains("port"));
    }
}
