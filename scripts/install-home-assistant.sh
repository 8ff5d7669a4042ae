#!/usr/bin/env bash
# Installs Home Assistant Core into a venv of its own, for the tests that run Hearth against a real Home
# Assistant (services/ha/tests/real_ha). Prints the venv's python on stdout; does nothing when the venv
# already has this version and its integrations' requirements.
#
#   scripts/install-home-assistant.sh [VENV]      (default ~/.cache/hearth/ha-venv)
#
# 2024.3.3 is the newest Home Assistant that installs on Python 3.11 (2024.4 needs 3.12). Three
# libraries are pinned to their March 2024 versions: unpinned, pip backtracks for a long time over two
# Bluetooth libraries, and josepy 2 breaks the acme version Home Assistant pins (cloud fails to import).
# Home Assistant installs each integration's requirements when it first loads it; they are installed
# here instead, so that a test never waits for pip.
set -euo pipefail
version="2024.3.3"
venv="${1:-${HEARTH_CACHE:-$HOME/.cache/hearth}/ha-venv}"
python="${HEARTH_HA_BASE_PYTHON:-python3}"
# Bump the suffix when the pins change, so existing venvs are brought up to date.
marker="$venv/.hearth-ha-$version-r2"
if [ -f "$marker" ]; then
  echo "$venv/bin/python"
  exit 0
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
printf 'habluetooth==2.4.2\nbluetooth-data-tools==1.19.0\njosepy==1.14.0\n' >"$constraints"
"$venv/bin/python" -m pip install --quiet --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet "homeassistant==$version" -c "$constraints" >&2
# The requirements of every integration Home Assistant sets up without being asked, plus MQTT, with
# their dependencies, as pinned in Home Assistant's manifests.
requirements="$("$venv/bin/python" - <<'PY'
import json, pathlib
import homeassistant.bootstrap as b
root = pathlib.Path(b.__file__).parent / "components"
todo = set(b.CORE_INTEGRATIONS | b.LOGGING_INTEGRATIONS | b.FRONTEND_INTEGRATIONS | b.DEFAULT_INTEGRATIONS) | {"mqtt", "onboarding", "config", "api", "websocket_api"}
todo.discard("sentry")
seen, reqs = set(), set()
while todo:
    d = todo.pop()
    if d in seen or not (root / d / "manifest.json").is_file():
        continue
    seen.add(d)
    m = json.loads((root / d / "manifest.json").read_text())
    reqs.update(m.get("requirements", []))
    todo.update(m.get("dependencies", []))
    todo.update(m.get("after_dependencies", []))
print("\n".join(sorted(reqs)))
PY
)"
echo "$requirements" >>"$constraints"
# shellcheck disable=SC2086
"$venv/bin/python" -m pip install --quiet $requirements -c "$constraints" >&2
touch "$marker"
echo "$venv/bin/python"
