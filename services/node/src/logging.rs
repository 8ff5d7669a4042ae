//! Logging: tracing to stderr, filtered by `RUST_LOG` (default `info`). When `hearth up` supervises a
//! child it sets `HEARTH_LOG_PLAIN=1` so lines carry no colour codes and no timestamps of their own
//! (the supervisor prefixes them).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let plain = std::env::var_os("HEARTH_LOG_PLAIN").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = if plain { builder.without_time().with_ansi(false).try_init() } else { builder.try_init() };
}
