//! Hearth for the tests: the embedded broker and each service the way `hearth service NAME` runs it
//! (its config read from a node file with the same loaders), each in a tokio runtime of its own so
//! that it can be stopped cleanly or killed: a killed service's runtime is dropped on the spot, its
//! broker connection closes without a DISCONNECT, and the broker publishes its last will, exactly
//! as when the process dies.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hearth_bus::{Bus, BusConfig, Shutdown};
use hearth_node::NodeFile;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

pub const WAIT: Duration = Duration::from_secs(60);

/// One room's node file: its site, its own data directory, the shared models, and `extra` tables.
pub fn node_file(bus: &BusConfig, dir: &Path, site: &str, extra: &str) -> NodeFile {
    let models = shared_dir().join("models");
    let text = format!(
        "site = \"{site}\"\ndata_dir = \"{}\"\nmodels_dir = \"{}\"\n[bus]\nhost = \"127.0.0.1\"\nport = {}\n{extra}",
        dir.join(site).join("data").display(),
        models.display(),
        bus.port,
    );
    NodeFile::parse(&text, None).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The shared test data (`$HEARTH_SHARED`, else `../shared` beside the checkout).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

/// A service running in a runtime of its own.
pub struct Service {
    pub name: String,
    pub site: String,
    runtime: Runtime,
    shutdown: Shutdown,
    done: oneshot::Receiver<()>,
}

impl Service {
    /// Starts `run(bus, shutdown)` as service `name` at `site` and waits until it is on the broker.
    pub async fn start<F, Fut, E>(bus: &BusConfig, name: &str, site: &str, run: F) -> Service
    where
        F: FnOnce(Bus, Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("{name}-{site}"))
            .enable_all()
            .build()
            .expect("a runtime");
        let shutdown = Shutdown::new();
        let (connected_tx, connected) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let (bus, service, site_owned, s) = (bus.clone(), name.to_string(), site.to_string(), shutdown.clone());
        runtime.spawn(async move {
            let (b, connection) = Bus::connect(&bus, &service, &site_owned).expect("bus settings are valid");
            b.client.wait_connected(WAIT).await.expect("service reaches the broker");
            let _ = connected_tx.send(());
            if let Err(e) = run(b, s).await {
                panic!("{service} at {site_owned} failed: {e}");
            }
            connection.close().await;
            let _ = done_tx.send(());
        });
        tokio::time::timeout(WAIT, connected).await.expect("service connects in time").expect("service task alive");
        Service { name: name.to_string(), site: site.to_string(), runtime, shutdown, done }
    }

    /// A clean stop, as on SIGTERM: the service says `offline` and disconnects.
    pub async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(WAIT, self.done).await.expect("service stops in time").expect("service task alive");
        self.runtime.shutdown_background();
    }

    /// A crash: everything of the service ends at once and the broker sends its last will.
    pub fn kill(self) {
        self.runtime.shutdown_background();
    }
}

/// Which service, configured from a node file the way the `hearth` binary does it.
pub async fn start(bus: &BusConfig, file: &NodeFile, name: &str) -> Service {
    let site = file.node.site.clone();
    match name {
        "audio" => {
            let config = hearth_audio::AudioConfig::from_node(file).expect("[audio]");
            Service::start(bus, name, &site, |b, s| hearth_audio::run(config, b, s)).await
        }
        "wake" => {
            let config = hearth_wake::WakeConfig::load(file).expect("[wake]");
            Service::start(bus, name, &site, |b, s| hearth_wake::run(config, b, s)).await
        }
        "listen" => {
            let config = hearth_listen::ListenConfig::load(file).expect("[listen]");
            Service::start(bus, name, &site, |b, s| hearth_listen::run(config, b, s)).await
        }
        "brain" => {
            let config: hearth_brain::BrainConfig = file.section("brain").expect("[brain]");
            Service::start(bus, name, &site, |b, s| hearth_brain::run(config, b, s)).await
        }
        "timers" => {
            let config: hearth_timers::TimersConfig = file.section("timers").expect("[timers]");
            let store = config.store(&file.node.data_dir);
            Service::start(bus, name, &site, |b, s| hearth_timers::run(store, b, s)).await
        }
        "tts" => {
            let config = hearth_tts::TtsConfig::from_node(file).expect("[tts]");
            Service::start(bus, name, &site, |b, s| hearth_tts::run(config, b, s)).await
        }
        "ha" => {
            let config: hearth_ha::HaConfig = file.section("ha").expect("[ha]");
            Service::start(bus, name, &site, |b, s| hearth_ha::run(config, b, s)).await
        }
        other => panic!("no service {other} in this suite"),
    }
}
