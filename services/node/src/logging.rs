//! Logging: tracing to stderr, filtered by `RUST_LOG` (default `info`). When `hearth up` supervises a
//! child it sets `HEARTH_LOG_PLAIN=1` so lines carry no colour codes and no timestamps of their own
//! (the supervisor prefixes them).

use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

pub fn init() {
    init_with("info")
}

/// Logging with `default` as the filter when `RUST_LOG` is unset. The broker's own per-connection
/// logs are kept to warnings unless asked for (`RUST_LOG=rumqttd=info`).
pub fn init_with(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("{default},rumqttd=warn")));
    let plain = std::env::var_os("HEARTH_LOG_PLAIN").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    // rumqttd opens an ERROR-level span around every packet and formats its topic byte by byte; the level
    // filter cannot turn ERROR spans off, and a profile of `hearth bench bus` put them at 10-13 % of all CPU.
    // Keep the broker's log events, drop its spans.
    let no_broker_spans = filter_fn(|m| !(m.is_span() && m.target().starts_with("rumqttd")));
    let _ = if plain {
        builder.without_time().with_ansi(false).finish().with(no_broker_spans).try_init()
    } else {
        builder.finish().with(no_broker_spans).try_init()
    };
}
