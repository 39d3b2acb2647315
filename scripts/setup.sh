#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 machine (run as root, or with sudo available).
# Installs every build/test dependency from Debian packages and npm (committed lock file),
# and fetches the Dear ImGui + KissFFT sources the WebAssembly build compiles.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PKGS=(
  build-essential cmake ninja-build pkg-config dpkg-dev
  libsndfile1-dev libsoxr-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev googletest libbenchmark-dev
  emscripten nodejs
  libtorch-dev libopenblas0-openmp libonnx-dev libprotobuf-dev protobuf-compiler
  libfluidsynth-dev libjack-jackd2-dev timgm6mb-soundfont libgloo-dev
  python3 python3-mir-eval python3-mido python3-numpy python3-soundfile
  sox fonts-dejavu-core lilypond aubio-tools brotli clang libclang-rt-14-dev llvm
  fluid-soundfont-gm fluidr3mono-gm-soundfont csound-soundfont opl3-soundfont freepats timidity abcmidi openttd-openmsx planetblupi-music-midi simutrans-data
  pianobooster freedink-data chuck-data sfront yoshimi-data
  chromium
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# deb-src entry so that `apt-get source` works (ImGui/KissFFT sources for the wasm build).
SRC_LIST=/etc/apt/sources.list.d/qscribe-debsrc.sources
if [ ! -f "$SRC_LIST" ]; then
  $SUDO tee "$SRC_LIST" >/dev/null <<'EOS'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
  need_update=1
fi

if [ ${#missing[@]} -gt 0 ] || [ -n "${need_update:-}" ] || [ ! -d third_party/src ]; then
  echo "[setup] apt-get update"
  $SUDO apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Sources for the wasm build (never committed: third_party/ is git-ignored).
mkdir -p third_party/src
for pkg in imgui kissfft; do
  if ! ls -d third_party/src/"$pkg"-*/ >/dev/null 2>&1; then
    echo "[setup] apt-get source $pkg"
    (cd third_party/src && apt-get source -qq "$pkg" >/dev/null)
  fi
done

# npm packages (lock file committed)
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "[setup] npm ci"
    ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
  fi
fi
echo "[setup] done"
