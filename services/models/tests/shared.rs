//! The catalog's digests and sizes against the real model files in ../shared/models: the ones that are
//! there must match byte for byte, so a pull of the real URLs would accept them.

use std::path::PathBuf;

use hearth_models::catalog;
use hearth_models::download::hash_file;

fn shared_models() -> Option<PathBuf> {
    let root = std::env::var_os("HEARTH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let models = root.join("models");
    if models.is_dir() {
        return Some(models);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared/models not found at {} (set HEARTH_SHARED)", models.display());
    }
    println!("skipping: ../shared not found (set HEARTH_SHARED)");
    None
}

#[test]
fn catalog_digests_match_the_shared_real_files() {
    let Some(dir) = shared_models() else { return };
    let mut checked = 0;
    for model in catalog() {
        for file in &model.files {
            // ../shared/models uses the same layout as a models directory for these.
            let path = dir.join(&file.path);
            if !path.is_file() {
                continue;
            }
            let (len, digest) = hash_file(&path).unwrap();
            assert_eq!(Some(len), file.size, "{}", file.path);
            assert_eq!(Some(digest.as_str()), file.sha256.as_deref(), "{}", file.path);
            checked += 1;
        }
    }
    // melspectrogram, embedding, three wake words, silero_vad.
    assert_eq!(checked, 6, "expected the openWakeWord and Silero files in {}", dir.display());
}
