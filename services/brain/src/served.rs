//! Which tools some service answers right now, from the services' retained status and info: a service
//! announces `tool:<name>` capabilities in its info and is trusted while its status is online. A camera
//! announces `camera:<source>`; unlike tools, which serve every site, a camera sees only its own room.

use std::collections::BTreeMap;

use hearth_bus::service::ServiceState;

/// The capability prefix of a served tool.
pub const TOOL_CAPABILITY: &str = "tool:";
/// The capability prefix of a camera (`camera:v4l2:/dev/video0`).
pub const CAMERA_CAPABILITY: &str = "camera:";

#[derive(Debug, Clone, Default)]
struct Service {
    online: bool,
    tools: Vec<String>,
    /// It is a camera (of the site it runs at).
    camera: bool,
}

/// The services seen on the bus, by (site, service name).
#[derive(Debug, Clone, Default)]
pub struct ServedTools {
    services: BTreeMap<(String, String), Service>,
    /// Tools the brain answers itself (messages and calls, handed off).
    own: Vec<String>,
}

impl ServedTools {
    pub fn on_status(&mut self, site: &str, service: &str, state: ServiceState) {
        self.entry(site, service).online = state == ServiceState::Online;
    }

    pub fn on_capabilities(&mut self, site: &str, service: &str, capabilities: &[String]) {
        let entry = self.entry(site, service);
        entry.tools = capabilities.iter().filter_map(|c| c.strip_prefix(TOOL_CAPABILITY)).map(str::to_string).collect();
        entry.camera = capabilities.iter().any(|c| c.starts_with(CAMERA_CAPABILITY));
    }

    /// Tools the brain itself answers, whatever services are online.
    pub fn serve_own(&mut self, tools: &[&str]) {
        self.own.extend(tools.iter().map(|t| t.to_string()));
    }

    /// Whether the brain or an online service, at any site, announces `tool`.
    pub fn serves(&self, tool: &str) -> bool {
        self.own.iter().any(|t| t == tool) || self.services.values().any(|s| s.online && s.tools.iter().any(|t| t == tool))
    }

    /// Whether an online service (not the brain itself), at any site, announces `tool`.
    pub fn service_serves(&self, tool: &str) -> bool {
        self.services.values().any(|s| s.online && s.tools.iter().any(|t| t == tool))
    }

    /// Whether an online camera runs at `site`.
    pub fn camera_at(&self, site: &str) -> bool {
        self.services.iter().any(|((at, _), s)| at == site && s.online && s.camera)
    }

    fn entry(&mut self, site: &str, service: &str) -> &mut Service {
        self.services.entry((site.to_string(), service.to_string())).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_is_served_while_a_service_announcing_it_is_online() {
        let mut served = ServedTools::default();
        served.on_capabilities("default", "tools", &["tool:get_time".into(), "other".into()]);
        assert!(!served.serves("get_time"), "no status yet");
        served.on_status("default", "tools", ServiceState::Online);
        assert!(served.serves("get_time"));
        assert!(!served.serves("look"));
        served.on_status("default", "tools", ServiceState::Offline);
        assert!(!served.serves("get_time"));
    }

    #[test]
    fn a_camera_serves_only_its_own_site() {
        let mut served = ServedTools::default();
        served.serve_own(&["look"]);
        assert!(served.serves("look") && !served.service_serves("look"), "the brain's own tool is no service's");
        served.on_capabilities("kitchen", "camera", &["camera:file:room.jpg".into()]);
        assert!(!served.camera_at("kitchen"), "no status yet");
        served.on_status("kitchen", "camera", ServiceState::Online);
        assert!(served.camera_at("kitchen") && !served.camera_at("hall"));
        served.on_status("kitchen", "camera", ServiceState::Unavailable);
        assert!(!served.camera_at("kitchen"));
    }
}
