//! The assistant's own chimes must never wake it: every chime the audio service plays scores below
//! 0.05 on every real wake word model (the reference build woke itself on its chime once).

use hearth_bus::audio::ChimeKind;

#[test]
fn chimes_never_wake_the_wake_word() {
    for kind in [ChimeKind::Listening, ChimeKind::GotIt, ChimeKind::Timer, ChimeKind::Error] {
        let chime = hearth_audio::chime::render(kind, 16_000);
        assert!(chime.len() > 1000, "{kind:?} chime is not empty");
        // Alone, and surrounded by silence as the microphone would hear it after the speaker.
        hearth_wake::testkit::assert_quiet_on(&chime);
        let mut padded = vec![0i16; 16_000];
        padded.extend_from_slice(&chime);
        padded.extend(std::iter::repeat_n(0i16, 16_000));
        hearth_wake::testkit::assert_quiet_on(&padded);
    }
}
