"""Speaks lines of text with a real Piper voice through the Python piper-tts package, one WAV per line.

    python piper_speak.py VOICE.onnx OUT_DIR < lines.txt

Writes OUT_DIR/NNN.wav (16-bit mono at the voice's own rate) for the Nth line, with the voice's default
synthesis settings, which are deterministic for a given voice and piper-tts version.
"""

import sys
import wave
from pathlib import Path

from piper.voice import PiperVoice


def main() -> None:
    voice = PiperVoice.load(sys.argv[1])
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    lines = [line.strip() for line in sys.stdin if line.strip()]
    for i, text in enumerate(lines):
        tmp = out / f"{i:03}.wav.partial"
        with wave.open(str(tmp), "wb") as wav:
            voice.synthesize_wav(text, wav)
        tmp.rename(out / f"{i:03}.wav")


if __name__ == "__main__":
    main()
