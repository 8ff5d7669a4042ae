#!/usr/bin/env bash
# Checks every systemd unit in deploy/systemd with `systemd-analyze verify`, plus the rules every
# Hearth unit follows (notify readiness, watchdog, restart, unprivileged user, network ordering,
# config path). Exit status 0 when all pass.
#
#   deploy/test-units.sh
#
# `systemd-analyze verify` refuses units whose ExecStart binary does not exist, and the real
# binaries are installed in /usr/local/bin only on a node. So the units are copied to a temporary
# directory with ExecStart pointing at executable stand-ins of the same names there; nothing else in
# the units changes. Needs systemd-analyze (apt-get install -y systemd).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing: apt-get install -y systemd" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/units"
for b in hearth hearth-asr hearth-llm; do
  printf '#!/bin/sh\nexit 0\n' > "$tmp/bin/$b"
  chmod +x "$tmp/bin/$b"
done

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

units=("$here"/systemd/*.service)
[ ${#units[@]} -ge 11 ] || fail "expected 11 service units, found ${#units[@]}"
for unit in "${units[@]}"; do
  name="$(basename "$unit")"
  sed "s#/usr/local/bin/#$tmp/bin/#" "$unit" > "$tmp/units/$name"
  key() { grep -E "^$1=" "$unit" | tail -n 1 | cut -d= -f2-; }
  [ "$(key Type)" = notify ] || fail "$name: Type=notify"
  [ -n "$(key WatchdogSec)" ] || fail "$name: WatchdogSec"
  [ "$(key Restart)" = always ] || fail "$name: Restart=always"
  [ -n "$(key RestartSec)" ] || fail "$name: RestartSec"
  [ "$(key User)" = hearth ] || fail "$name: User=hearth"
  grep -qx 'After=network-online.target' "$unit" || fail "$name: After=network-online.target"
  grep -qx 'Wants=network-online.target' "$unit" || fail "$name: Wants=network-online.target"
  grep -qx 'NoNewPrivileges=yes' "$unit" || fail "$name: NoNewPrivileges"
  grep -qx 'ProtectSystem=strict' "$unit" || fail "$name: ProtectSystem=strict"
  case "$(key ExecStart)" in
    *" --config /etc/hearth/hearth.toml") ;;
    *) fail "$name: ExecStart must end with --config /etc/hearth/hearth.toml" ;;
  esac
done
grep -qx 'SupplementaryGroups=audio' "$here/systemd/hearth-audio.service" || fail "hearth-audio: audio group"
cp "$here/systemd/hearth.target" "$tmp/units/"

# systemd 254 and later know the back-off keys: verify the drop-in there too.
version="$(systemd-analyze --version | awk 'NR==1 {print $2}')"
if [ "$version" -ge 254 ]; then
  for unit in "$tmp"/units/*.service; do
    mkdir -p "$unit.d"
    cp "$here/systemd/restart-backoff.conf" "$unit.d/"
  done
fi

# `verify` prints problems on stderr and may still exit 0 for some of them: treat any output as a failure.
out="$(cd "$tmp/units" && systemd-analyze verify --man=no ./*.service ./hearth.target 2>&1)" || fail "systemd-analyze verify exited non-zero"
if [ -n "$out" ]; then
  echo "$out" >&2
  fail "systemd-analyze verify reported problems"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures unit check(s) failed" >&2
  exit 1
fi
echo "ok: ${#units[@]} units and hearth.target verified with systemd $version"
