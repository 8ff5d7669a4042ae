#!/usr/bin/env bash
# Sets up Hearth on a fresh Debian or Raspberry Pi OS machine (x86_64 or aarch64) and, with `up`, runs it.
#
#   ./scripts/setup.sh        install packages, build, install binaries to ~/.local/bin, write a default config
#   ./scripts/setup.sh up     the same, then start the assistant (`hearth up`: embedded broker + every service)
#
# Safe to run again: every step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
bin_dir="${HEARTH_BIN_DIR:-$HOME/.local/bin}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hearth/target}"
# Portable ggml builds (no -march=native): the same binaries run on every Pi of a cluster.
export GGML_NATIVE=OFF

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

say() { printf '\n== %s\n' "$*"; }

say "Debian packages"
packages=(build-essential cmake clang libclang-dev pkg-config libasound2-dev espeak-ng libespeak-ng-dev
          python3 python3-pip python3-venv sox mosquitto-clients curl ca-certificates)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

say "Rust toolchain"
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
cargo --version

say "ONNX Runtime (wake word, voice activity, Piper voices)"
ort_lib="$("$root/scripts/install-onnxruntime.sh")"
echo "installed $ort_lib"

say "Building (release; llama.cpp and whisper.cpp take several minutes the first time)"
binaries=(hearth hearth-asr hearth-llm)
cargo build --release --locked $(printf -- '-p %s ' "${binaries[@]}")
mkdir -p "$bin_dir"
for b in "${binaries[@]}"; do
  install -m 0755 "$CARGO_TARGET_DIR/release/$b" "$bin_dir/$b"
done
echo "installed ${binaries[*]} to $bin_dir"

say "Config"
config="${HEARTH_CONFIG:-$HOME/.config/hearth/hearth.toml}"
if [ ! -f "$config" ]; then
  mkdir -p "$(dirname "$config")"
  cp "$root/deploy/config/single.toml" "$config"
  echo "wrote $config"
else
  echo "keeping $config"
fi

say "Models"
if "$bin_dir/hearth" models pull 2>&1; then
  echo "models ready"
else
  echo "could not fetch every model now; Hearth runs without them (services report what is missing)."
  echo "Fetch them later with: hearth models pull"
fi

say "Done"
echo "Start the assistant:  $bin_dir/hearth up"
echo "Talk to it by text:   $bin_dir/hearth say \"set a timer for ten seconds\""
echo "Watch the bus:        $bin_dir/hearth tap   (or mosquitto_sub -t 'hearth/#' -v)"
if [ "${1:-}" = "up" ]; then
  exec "$bin_dir/hearth" --config "$config" up
fi
