#!/usr/bin/env bash
# Runs Hearth's whole test suite on a fresh Debian machine: installs what the tests need (Debian packages,
# ONNX Runtime, a Python venv with the reference implementations), then `cargo test --workspace`.
#
#   ./scripts/test.sh            (CI runs exactly this through .ci/run)
#
# Tests that need the real small models read ../shared (override with HEARTH_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
cache="${HEARTH_CACHE:-$HOME/.cache/hearth}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
export GGML_NATIVE=OFF
export HEARTH_SHARED="${HEARTH_SHARED:-$root/../shared}"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

packages=(build-essential cmake clang libclang-dev pkg-config libasound2-dev espeak-ng libespeak-ng-dev
          python3 python3-venv sox mosquitto systemd
          ffmpeg libopus-dev)
# The web satellite's page is tested in a real headless browser (integration-tests/tests/web_browser.rs).
packages+=(chromium)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"

# ONNX Runtime for the wake, listen and TTS engines.
ORT_DYLIB_PATH="$("$root/scripts/install-onnxruntime.sh" "$cache/lib")"
export ORT_DYLIB_PATH

# Python reference implementations and fixture generators, in a venv of their own.
venv="$cache/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! cmp -s "$root/scripts/test-requirements.txt" "$venv/.requirements" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r "$root/scripts/test-requirements.txt"
  # openwakeword's declared dependencies include tflite-runtime, which its ONNX path never uses.
  "$venv/bin/python" -m pip install --quiet --no-deps openwakeword==0.6.0
  cp "$root/scripts/test-requirements.txt" "$venv/.requirements"
fi
export HEARTH_PYTHON="$venv/bin/python"

# Home Assistant Core in a venv of its own, for the real Home Assistant suite below (installed once).
HEARTH_HA_PYTHON="$("$root/scripts/install-home-assistant.sh" "$cache/ha-venv")"
export HEARTH_HA_PYTHON

if [ ! -d "$HEARTH_SHARED/models" ]; then
  echo "note: $HEARTH_SHARED/models not found; tests that need the real small models will say so (set HEARTH_SHARED)"
fi

cargo build --workspace --all-targets
# Real weights (whisper tiny.en/base, Piper joe, Gemma 3 270M) into $cache/real-models; outside CI a failure only
# makes the tests that need them skip, saying why.
./scripts/fetch-real-models.sh || [ "${CI:-}" != true ]
# systemd units: `systemd-analyze verify` on every unit (needs systemd's tools, installed above).
./deploy/test-units.sh
cargo test --workspace --no-fail-fast -- --test-threads="${HEARTH_TEST_THREADS:-2}"
# Hearth against a real Home Assistant: a test binary of its own that `cargo test --workspace` leaves out
# (Home Assistant takes a while to start).
cargo test -p hearth-ha --test real_ha -- --nocapture
