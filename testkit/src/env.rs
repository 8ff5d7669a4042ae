//! Where the tests find what they need, and what they do when it is missing: outside CI a test whose
//! prerequisite is missing says so and passes; in CI the same thing is a failure, so a broken setup is
//! never reported as green.

use std::fmt::Display;
use std::path::PathBuf;

/// Whether the tests run in CI: `CI` is set to anything but empty, `0` or `false` (GitHub Actions,
/// GitLab and most CI systems set `CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"))
}

/// Skips a test whose prerequisite is missing: prints why and returns `None`, so callers write
/// `let Some(x) = … else { return };`. In CI it panics instead.
pub fn skip<T>(why: impl Display) -> Option<T> {
    if in_ci() {
        panic!("{why} (required in CI)");
    }
    eprintln!("skipping: {why}");
    None
}

/// The real small models and recordings: `$HEARTH_SHARED`, else `shared/` beside the repository
/// (`../shared` from the workspace root). Skips (see [`skip`]) when it is not there.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared")));
    if dir.is_dir() {
        Some(dir)
    } else {
        skip(format!("{} not found (set HEARTH_SHARED)", dir.display()))
    }
}

/// `relative` inside [`shared_dir`], when that file is there; skips otherwise.
pub fn shared_file(relative: &str) -> Option<PathBuf> {
    let path = shared_dir()?.join(relative);
    if path.exists() {
        Some(path)
    } else {
        skip(format!("{} not found (set HEARTH_SHARED)", path.display()))
    }
}

/// A built binary of this workspace (`hearth`, `hearth-asr`…), in the target folder of the test
/// executable. Panics with the command that builds it when it is missing.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(path.is_file(), "{} is not built: run `cargo build -p {name}` (cargo test --workspace builds it)", path.display());
    path
}
