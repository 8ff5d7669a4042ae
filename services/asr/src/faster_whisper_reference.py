"""faster-whisper timings for `hearth-asr bench --reference` (run by it; not a user tool).

Reads JSON on stdin: {"model_dir": DIR, "compute_types": ["int8", "float32"], "threads": N,
"repetitions": N, "clips": [{"name": NAME, "wav": PATH}]} (16 kHz mono 16-bit WAVs).
Writes one JSON object per line: {"compute_type", "clip", "load_ms", "times_ms": [...], "text"}.
Greedy decoding, no timestamps, no VAD, no conditioning on previous text: what Hearth does.
"""

import json
import sys
import time
import wave

import numpy as np
from faster_whisper import WhisperModel


def read(path):
    with wave.open(path, "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0


def transcribe(model, audio):
    segments, _ = model.transcribe(
        audio,
        language="en",
        beam_size=1,
        best_of=1,
        temperature=0.0,
        condition_on_previous_text=False,
        without_timestamps=True,
        vad_filter=False,
        word_timestamps=False,
    )
    return "".join(s.text for s in segments)


def main():
    request = json.load(sys.stdin)
    clips = [(c["name"], read(c["wav"])) for c in request["clips"]]
    for compute_type in request["compute_types"]:
        started = time.perf_counter()
        model = WhisperModel(request["model_dir"], device="cpu", compute_type=compute_type,
                             cpu_threads=request["threads"], num_workers=1)
        transcribe(model, clips[0][1])  # warm-up, as Hearth warms up at load
        load_ms = (time.perf_counter() - started) * 1000
        for name, audio in clips:
            times, text = [], ""
            for _ in range(request["repetitions"]):
                t = time.perf_counter()
                text = transcribe(model, audio)
                times.append((time.perf_counter() - t) * 1000)
            print(json.dumps({"compute_type": compute_type, "clip": name, "load_ms": load_ms,
                              "times_ms": times, "text": text}), flush=True)


if __name__ == "__main__":
    main()
