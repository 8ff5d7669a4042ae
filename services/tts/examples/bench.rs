//! `cargo run -p hearth-tts --example bench [voice.onnx]`: the same report `hearth bench tts` prints.

fn main() {
    let mut options = hearth_tts::bench::BenchOptions::default();
    if let Some(voice) = std::env::args().nth(1) {
        options.voice = Some(voice.into());
    }
    match hearth_tts::bench::bench_tts(&options) {
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::exit(1);
        }
    }
}
