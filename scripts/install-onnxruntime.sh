#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that Hearth's wake, listen and TTS engines load at run time
# (ort's load-dynamic feature). The library comes out of the PyPI `onnxruntime` wheel, which ships it
# for x86_64 and aarch64; no Python is needed to use it afterwards.
#
#   scripts/install-onnxruntime.sh [DEST_DIR]     (default: ~/.local/share/hearth/lib)
#
# Prints the path of the installed library; point ORT_DYLIB_PATH (or `onnxruntime` in the config) at it.
set -euo pipefail
version="${ORT_VERSION:-1.24.4}"
dest="${1:-${HEARTH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/hearth}/lib}"
mkdir -p "$dest"
lib="$dest/libonnxruntime.so.$version"
if [ -f "$lib" ]; then
  echo "$lib"
  exit 0
fi
py="$(command -v python3 || true)"
[ -n "$py" ] || { echo "python3 with pip is needed to fetch the onnxruntime wheel (apt-get install python3-pip)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "onnxruntime==$version" >&2
wheel="$(ls "$tmp"/onnxruntime-*.whl | head -n 1)"
"$py" - "$wheel" "$tmp/out" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.startswith("onnxruntime/capi/libonnxruntime.so"):
            z.extract(n, sys.argv[2])
PY
so="$(ls "$tmp"/out/onnxruntime/capi/libonnxruntime.so.* | head -n 1)"
cp "$so" "$lib.part" && mv "$lib.part" "$lib"
ln -sf "$(basename "$lib")" "$dest/libonnxruntime.so"
echo "$lib"
