//! The full-size run for one phrase, the one the goal figures are about. Ignored by default (it takes
//! many minutes); run it in release to measure time and memory:
//!
//! ```sh
//! HEARTH_WAKEWORD_FULL_DIR=/tmp/ww cargo test --release -p hearth-wakeword --test tests full_size -- --ignored --nocapture
//! ```
//!
//! It prints the model card's report (test voices, threshold from the validation voices) and asserts
//! nothing about the figures: they are measurements, not a pass mark.

use std::path::PathBuf;

use hearth_wakeword::dataset::Sizes;
use hearth_wakeword::train::{self, TrainOptions};

use crate::util::{front_end, small_options};

#[test]
#[ignore = "a full-size training run takes many minutes; run it by hand to measure"]
fn full_size_run() {
    let Some((front, lib)) = front_end() else { return };
    let dir = std::env::var_os("HEARTH_WAKEWORD_FULL_DIR").map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("hearth-wakeword-full"));
    let phrase = std::env::var("HEARTH_WAKEWORD_PHRASE").unwrap_or_else(|_| "ok computer".into());
    let opts = small_options(&phrase, &dir.join("out"), &dir.join("cache"), &front, &lib);
    let opts = TrainOptions { sizes: Sizes::full(), settings: Default::default(), progress: true, ..opts };
    let trained = train::train(&opts).unwrap();
    let card = &trained.card;
    println!("{}", serde_json::to_string_pretty(&card.seconds).unwrap());
    println!(
        "{} train / {} validation / {} test speakers, {} windows ({} positive), threshold {:.2}",
        card.train_speakers, card.validation_speakers, card.test_speakers, card.train_windows, card.train_positive_windows, card.suggested_threshold
    );
    println!("{}\nat 0.5:\n{}", card.report, card.report_at_half);
    println!("epochs {:?}", card.epochs);
}
