//! `hearth satellite`: a thin satellite for one room (a Pi Zero 2 W-class board): only the microphone and
//! speaker (`audio`) and the wake word (`wake`) of this room, supervised like `hearth up`, on the broker
//! of the master found by its mDNS name. Listening, speech recognition and everything after run
//! elsewhere (the listener of node1 or the master must serve this room: `[listen] sites`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use hearth_node::NodeFile;

use super::up::UpArgs;

/// The master's mDNS name, used when `[bus] host` is left at its default.
pub const MASTER: &str = "master.local";

#[derive(Args)]
pub struct SatelliteArgs {
    /// The master (where the broker runs). Default: `[bus] host`, or `master.local` when that is unset.
    #[arg(long)]
    pub master: Option<String>,
    /// This satellite's room. Default: `site` from the config.
    #[arg(long)]
    pub site: Option<String>,
    /// A WAV file as the microphone (a demo, or a measurement with no sound card).
    #[arg(long)]
    pub mic: Option<PathBuf>,
}

pub async fn run(file: &NodeFile, args: SatelliteArgs) -> anyhow::Result<ExitCode> {
    let satellite = satellite_file(file, &args)?;
    let up = UpArgs { mic: args.mic, speaker: None, only: vec!["audio".into(), "wake".into()], no_broker: true };
    super::up::run(&satellite, up).await
}

/// The node file with the satellite's master and room filled in.
fn satellite_file(file: &NodeFile, args: &SatelliteArgs) -> anyhow::Result<NodeFile> {
    let mut table = file.table().clone();
    let host_set = table.get("bus").and_then(|b| b.get("host")).is_some();
    let bus = table.entry("bus").or_insert_with(|| toml::Value::Table(Default::default()));
    if let toml::Value::Table(bus) = bus {
        match (&args.master, host_set) {
            (Some(master), _) => {
                bus.insert("host".into(), master.clone().into());
            }
            (None, false) => {
                bus.insert("host".into(), MASTER.into());
            }
            (None, true) => {}
        }
    }
    if let Some(site) = &args.site {
        table.insert("site".into(), site.clone().into());
    }
    Ok(NodeFile::parse(&toml::to_string(&table)?, file.path.clone())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_master_by_its_mdns_name_unless_told() {
        let args = |master: Option<&str>| SatelliteArgs { master: master.map(Into::into), site: Some("bedroom".into()), mic: None };
        let plain = NodeFile::parse("", None).unwrap();
        let f = satellite_file(&plain, &args(None)).unwrap();
        assert_eq!((f.node.bus.host.as_str(), f.node.site.as_str()), ("master.local", "bedroom"));
        let configured = NodeFile::parse("[bus]\nhost = \"hub.local\"\n", None).unwrap();
        assert_eq!(satellite_file(&configured, &args(None)).unwrap().node.bus.host, "hub.local");
        assert_eq!(satellite_file(&configured, &args(Some("10.0.0.2"))).unwrap().node.bus.host, "10.0.0.2");
        assert!(satellite_file(&plain, &SatelliteArgs { site: Some("a/b".into()), ..args(None) }).is_err());
    }

    #[test]
    fn the_satellite_role_config_reaches_the_master_with_a_login_it_knows() {
        let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config");
        let read = |role: &str| NodeFile::parse(&std::fs::read_to_string(deploy.join(format!("{role}.toml"))).unwrap(), None).unwrap();
        let (satellite, master) = (read("satellite"), read("master"));
        assert_eq!(satellite.node.bus.host, MASTER);
        hearth_wake::WakeConfig::load(&satellite).unwrap();
        let broker: hearth_broker::BrokerConfig = master.section("broker").unwrap();
        let user = satellite.node.bus.username.clone().unwrap();
        assert_eq!(broker.users.get(&user), satellite.node.bus.password.as_ref(), "login {user} unknown to the master");
        let arbiter: hearth_wake::ArbiterConfig = master.section("arbiter").unwrap();
        assert!(arbiter.enabled && arbiter.validate().is_ok());
    }
}
