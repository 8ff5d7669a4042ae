#!/usr/bin/env bash
# Installs Hearth on Raspberry Pi OS / Debian (aarch64 or x86_64) for one or more roles of the
# reference cluster, as systemd services running as the unprivileged `hearth` user.
#
#   sudo deploy/install.sh --role master
#   sudo deploy/install.sh --role node1 [--role node2 …] [options]
#
# Roles and their services:
#   master  hearth-broker, hearth-ha          (MQTT broker, Home Assistant bridge)
#   node1   hearth-audio, hearth-wake, hearth-listen, hearth-asr
#   node2   hearth-brain, hearth-timers, hearth-tools, hearth-llm
#   node3   hearth-tts
#   satellite  hearth-audio, hearth-wake      (a thin satellite: one room's microphone, speaker, wake word)
#
# Options:
#   --role ROLE        a role above (repeatable; the first role's config example is installed)
#   --bin-dir DIR      copy prebuilt `hearth`, `hearth-asr`, `hearth-llm` from DIR instead of building
#   --config FILE      install FILE as /etc/hearth/hearth.toml instead of deploy/config/<role>.toml
#   --no-start         install and enable, but do not start the services
#   --dry-run          print what would be done, change nothing
#
# Safe to run again: existing config is kept, binaries and units are replaced.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deploy="$repo/deploy"
roles=()
bin_dir=""
config_src=""
start=1
dry=0

usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "install.sh: $*" >&2; exit 1; }
run() {
  if [ "$dry" = 1 ]; then echo "+ $*"; else "$@"; fi
}

while [ $# -gt 0 ]; do
  case "$1" in
    --role) roles+=("${2:?--role needs a value}"); shift 2 ;;
    --bin-dir) bin_dir="${2:?--bin-dir needs a directory}"; shift 2 ;;
    --config) config_src="${2:?--config needs a file}"; shift 2 ;;
    --no-start) start=0; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option $1" >&2; usage 2 ;;
  esac
done
[ ${#roles[@]} -gt 0 ] || { echo "at least one --role is needed" >&2; usage 2; }

services_of() {
  case "$1" in
    master) echo "broker ha" ;;
    node1) echo "audio wake listen asr" ;;
    node2) echo "brain timers tools llm" ;;
    node3) echo "tts" ;;
    satellite) echo "audio wake" ;;
    *) die "unknown role '$1' (master, node1, node2, node3, satellite)" ;;
  esac
}

services=()
for role in "${roles[@]}"; do
  for s in $(services_of "$role"); do services+=("$s"); done
done

needs() { local s; for s in "${services[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

# --- platform ---------------------------------------------------------------------------------
if [ "$dry" = 0 ] && [ "$(id -u)" != 0 ]; then die "run as root (sudo)"; fi
arch="$(uname -m)"
case "$arch" in
  aarch64|arm64|x86_64) ;;
  *) die "unsupported architecture $arch (aarch64 or x86_64)" ;;
esac
# shellcheck source=/dev/null
[ -r /etc/os-release ] && . /etc/os-release
case " ${ID:-} ${ID_LIKE:-} " in
  *" debian "*|*" raspbian "*) ;;
  *) die "this script knows Debian and Raspberry Pi OS (apt); found ${PRETTY_NAME:-unknown}" ;;
esac
echo "Installing roles: ${roles[*]} (services: ${services[*]}) on ${PRETTY_NAME:-Debian} $arch"

# --- packages ---------------------------------------------------------------------------------
# libasound2 was renamed libasound2t64 in Debian 13; take whichever this release has.
pick() { local p; for p in "$@"; do apt-cache show "$p" >/dev/null 2>&1 && { echo "$p"; return; }; done; echo "$1"; }
packages=(ca-certificates avahi-daemon libnss-mdns espeak-ng libespeak-ng1 "$(pick libasound2t64 libasound2)")
# ONNX Runtime comes from the onnxruntime wheel, unpacked by a small Python step.
if needs wake || needs listen || needs tts; then packages+=(python3 python3-pip); fi
needs audio && packages+=(alsa-utils)
if [ -z "$bin_dir" ]; then
  packages+=(build-essential pkg-config cmake clang libclang-dev libasound2-dev libespeak-ng-dev curl)
fi
run apt-get update
run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
# mDNS: this machine answers as <hostname>.local and resolves master.local.
run systemctl enable --now avahi-daemon.service

# --- user and directories -----------------------------------------------------------------------
if ! id hearth >/dev/null 2>&1; then
  run useradd --system --user-group --home-dir /var/lib/hearth --no-create-home --shell /usr/sbin/nologin hearth
fi
needs audio && run usermod -aG audio hearth
run install -d -o root -g hearth -m 0750 /etc/hearth
run install -d -o hearth -g hearth -m 0750 /var/lib/hearth /var/lib/hearth/lib /var/lib/hearth/models

# --- ONNX Runtime (wake, listen, tts) -----------------------------------------------------------
if needs wake || needs listen || needs tts; then
  run env HOME=/root HEARTH_DATA_DIR=/var/lib/hearth "$repo/scripts/install-onnxruntime.sh" /var/lib/hearth/lib
  run chown -R hearth:hearth /var/lib/hearth/lib
fi

# --- binaries -----------------------------------------------------------------------------------
bins=(hearth)
needs asr && bins+=(hearth-asr)
needs llm && bins+=(hearth-llm)
if [ -z "$bin_dir" ]; then
  cargo="$(command -v cargo || true)"
  # sudo drops ~/.cargo/bin from PATH: look in the invoking user's home.
  if [ -z "$cargo" ] && [ -n "${SUDO_USER:-}" ]; then
    cargo="$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin/cargo"
  fi
  { [ -n "$cargo" ] && [ -x "$cargo" ]; } || die "no cargo: install Rust (https://rustup.rs) or pass --bin-dir with prebuilt binaries"
  pkgs=(); for b in "${bins[@]}"; do pkgs+=(-p "$b"); done
  # Build as the invoking user, not root, so the source tree stays theirs.
  if [ -n "${SUDO_USER:-}" ]; then
    run sudo -u "$SUDO_USER" -H "$cargo" build --release --locked --manifest-path "$repo/Cargo.toml" "${pkgs[@]}"
  else
    run "$cargo" build --release --locked --manifest-path "$repo/Cargo.toml" "${pkgs[@]}"
  fi
  bin_dir="${CARGO_TARGET_DIR:-$repo/target}/release"
fi
for b in "${bins[@]}"; do
  [ "$dry" = 1 ] || [ -x "$bin_dir/$b" ] || die "$bin_dir/$b not found"
  run install -m 0755 "$bin_dir/$b" "/usr/local/bin/$b"
done

# --- config -------------------------------------------------------------------------------------
config=/etc/hearth/hearth.toml
if [ -e "$config" ]; then
  echo "Keeping the existing $config"
else
  src="${config_src:-$deploy/config/${roles[0]}.toml}"
  [ -r "$src" ] || die "no config example $src"
  [ ${#roles[@]} -gt 1 ] && echo "Note: installed the ${roles[0]} config; merge in what the other roles need."
  run install -o root -g hearth -m 0640 "$src" "$config"
  if [ "${roles[0]}" = master ] && [ "$dry" = 0 ]; then
    # One random password per broker user, written into the master's config.
    for user in master node1 node2 node3 homeassistant; do
      pw="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
      sed -i "s/change-me-$user\"/$pw\"/g" "$config"
      echo "  broker user $user: $pw"
    done
    echo "Put each node's password in its /etc/hearth/hearth.toml [bus] password, and the"
    echo "homeassistant one in Home Assistant's MQTT integration (broker master.local, port 1883)."
  fi
fi
if [ "$dry" = 0 ] && grep -q 'change-me-' "$config"; then
  echo "WARNING: $config still has a change-me password; the services will start once it is set." >&2
  start=0
fi

# --- systemd units ------------------------------------------------------------------------------
run install -m 0644 "$deploy/systemd/hearth.target" /etc/systemd/system/hearth.target
systemd_version="$(systemctl --version 2>/dev/null | awk 'NR==1 {print $2}')"
units=()
for s in "${services[@]}"; do
  unit="hearth-$s.service"
  units+=("$unit")
  run install -m 0644 "$deploy/systemd/$unit" "/etc/systemd/system/$unit"
  # Growing restart delays need systemd 254 (RestartSteps, RestartMaxDelaySec).
  if [ "${systemd_version:-0}" -ge 254 ] 2>/dev/null; then
    run install -d "/etc/systemd/system/$unit.d"
    run install -m 0644 "$deploy/systemd/restart-backoff.conf" "/etc/systemd/system/$unit.d/restart-backoff.conf"
  fi
done
run systemctl daemon-reload
run systemctl enable hearth.target "${units[@]}"
if [ "$start" = 1 ]; then
  run systemctl restart hearth.target "${units[@]}"
else
  echo "Not starting; when ready: sudo systemctl start hearth.target"
fi

echo
echo "Done. Check this node with: sudo -u hearth hearth doctor --config $config"
echo "Logs: journalctl -u 'hearth-*' -f"
