//! Links the system libespeak-ng (Debian: libespeak-ng-dev). Phonemes and the fallback voice come from the
//! library in-process; never a subprocess per sentence.

fn main() {
    println!("cargo:rustc-link-lib=espeak-ng");
    println!("cargo:rerun-if-changed=build.rs");
}
