//! Phoneme ids against the reference Python piper-tts (fixtures/tts/piper_reference.py).
//!
//! piper-tts links its own espeak-ng 1.52 with its own data; Hearth links the system libespeak-ng (1.51
//! on Debian 12), so end-to-end ids can differ where the two espeak-ng versions phonemize a word
//! differently. The test therefore checks three things:
//! 1. every step after espeak-ng (clause grouping, terminators, NFD, id mapping) exactly: piper-tts's own
//!    code run on the clauses our libespeak-ng produced must give our ids, for every sentence;
//! 2. our clause terminators and sentence splits (recovered without the 1.52-only
//!    `espeak_TextToPhonemesWithTerminator`) against piper-tts on the same espeak-ng data;
//! 3. the end-to-end agreement with piper-tts as shipped, measured and printed, with a floor.

use std::io::Write;
use std::process::{Command, Stdio};

use hearth_tts::espeak::Espeak;
use hearth_tts::phonemes::VoiceConfig;
use serde_json::Value;

use crate::util;

pub const SENTENCES: &[&str] = &[
    "Hello, world.",
    "How are you today?",
    "I'm fine, thanks!",
    "The quick brown fox jumps over the lazy dog.",
    "It costs 3.50 dollars; that's cheap.",
    "Dr. Smith lives on Main St. in Boston.",
    "Mr. and Mrs. Jones arrived at 5 p.m. yesterday.",
    "Fruit, e.g. apples and pears, is healthy.",
    "Bring snacks, drinks, etc. to the party.",
    "Is it 10:30 already?",
    "The meeting is on March 3rd, 2024.",
    "There are 1,234,567 people here.",
    "Call me at 555-1234.",
    "Pi is approximately 3.14159.",
    "We scored 100% on the test!",
    "The temperature is 21 degrees.",
    "Wait... what did you say?",
    "She said: \"Let's go now.\"",
    "Well, I don't know; maybe.",
    "Turn on the kitchen lights.",
    "Set a timer for ten minutes.",
    "What's the weather like in New York?",
    "Play some jazz music, please.",
    "Remind me to call Mom at 6.",
    "The 2nd and 3rd floors are closed.",
    "Barack Obama was the 44th president.",
    "NASA launched a rocket from Florida.",
    "My email is bob@example.com.",
    "Visit www.example.org for details.",
    "He ran 5 km in 25 minutes.",
    "The U.S. economy grew by 2.5%.",
    "Don't touch that!",
    "Why? Because I said so.",
    "It's a beautiful day, isn't it?",
    "One, two, three, four, five.",
    "Zürich and São Paulo are big cities.",
    "The café serves crème brûlée.",
    "Schwarzenegger starred in Terminator.",
    "Good morning! Did you sleep well?",
    "Add 2 cups of flour and 1 egg.",
    "The year 1999 was a long time ago.",
    "I owe you $20.",
    "Wow — that was fast.",
    "Are you sure? Yes, I'm sure.",
    "The box weighs 12.5 kg.",
    "Knights, knaves, and gnomes knew nothing.",
    "Read the book; then read it again.",
    "Thomas Edison invented the phonograph.",
    "Apple, Google, and Microsoft are tech companies.",
    "Hmm, let me think about that.",
    "Alexa, what time is it?",
    "The train leaves at 7:45 a.m. sharp.",
    "Chapter IV begins on page 52.",
    "You have 3 new messages.",
    "It's -5 degrees outside.",
    "Siobhan and Niamh met Nguyen in Worcester.",
    "The ratio is 3:2.",
    "Oh! I forgot my keys.",
    "Lights off. Doors locked. Good night.",
    "This is sentence one. This is sentence two? And three!",
];

fn reference(python: &str, config: &std::path::Path, clauses: &[Vec<Value>]) -> Value {
    let script = util::fixtures().join("piper_reference.py");
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    let request = serde_json::json!({ "config": config, "sentences": SENTENCES, "rust_clauses": clauses });
    child.stdin.take().unwrap().write_all(request.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "piper_reference.py failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn as_ids(v: &Value) -> Vec<Vec<i64>> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn phoneme_ids_match_piper_tts() {
    let Some(python) = util::python_with_piper() else { return };
    assert!(SENTENCES.len() >= 50);
    let config_path = util::fixtures().join("tiny-sine.onnx.json");
    let config = VoiceConfig::from_file(&config_path).unwrap();
    let espeak = Espeak::global(None).unwrap();

    let mut ours = Vec::new();
    let mut clauses = Vec::new();
    for s in SENTENCES {
        ours.push(config.text_to_ids(&espeak, s).unwrap());
        let c = espeak.clauses(&config.espeak_voice, s).unwrap();
        clauses.push(
            c.iter().map(|c| serde_json::json!([c.phonemes, c.terminator, c.end_of_sentence])).collect::<Vec<_>>(),
        );
    }
    let reference = reference(&python, &config_path, &clauses);
    let results = reference["results"].as_array().unwrap();

    let (mut post_ok, mut system_ok, mut bundled_ok, mut splits_ok) = (0, 0, 0, 0);
    let mut system_seen = 0;
    for (i, r) in results.iter().enumerate() {
        let from_clauses = as_ids(&r["from_rust_clauses"]);
        assert_eq!(ours[i], from_clauses, "post-espeak steps differ from piper-tts for {:?}", SENTENCES[i]);
        post_ok += 1;
        if !r["system_data"].is_null() {
            system_seen += 1;
            let sys = as_ids(&r["system_data"]);
            splits_ok += usize::from(sys.len() == ours[i].len());
            if sys == ours[i] {
                system_ok += 1;
            } else {
                println!("differs from piper-tts on the same data: {:?}", SENTENCES[i]);
            }
        }
        let bundled = as_ids(&r["bundled"]);
        if bundled == ours[i] {
            bundled_ok += 1;
        } else {
            println!("differs from piper-tts as shipped: {:?}", SENTENCES[i]);
        }
    }
    let n = SENTENCES.len();
    println!(
        "piper-tts {} (bundled espeak-ng {}), ours libespeak-ng {}: post-espeak steps {post_ok}/{n} exact; \
         same data: sentence splits {splits_ok}/{system_seen}, ids {system_ok}/{system_seen}; as shipped: ids {bundled_ok}/{n}",
        reference["piper_tts_version"], reference["bundled_espeak_version"], espeak.version
    );
    if system_seen > 0 {
        assert_eq!(splits_ok, system_seen, "sentence splits differ from piper-tts on the same espeak data");
        // Only espeak-ng 1.51's code differs from piper-tts's here (the stress of "One," in a list).
        assert!(system_ok * 20 >= system_seen * 19, "only {system_ok}/{system_seen} sentences match on the same data");
    }
    // As shipped, piper-tts's newer espeak-ng data also differs (e.g. "four" is oː in 1.51, ɔː in 1.52).
    assert!(bundled_ok * 5 >= n * 4, "only {bundled_ok}/{n} sentences match piper-tts as shipped");
}
