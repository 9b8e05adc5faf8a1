#!/usr/bin/env bash
# Generated attacks against the committed OpenAPI document (`make fuzz`, part of `make test`).
#
# Installs schemathesis (pinned below, from PyPI) in .cache/venv-fuzz, builds the debug server, starts it on a free
# loopback port with an empty store in a temporary folder and a random admin key, and runs every schemathesis
# check against openapi/openapi.json. Fails on any 5xx, dropped connection, response that breaks its schema,
# request valid by the schema that is rejected, undocumented status, or a schema-invalid request accepted.
#
#   FUZZ_EXAMPLES   test cases per operation and phase (default 8; `FUZZ_EXAMPLES=50 make fuzz` is the long run)
#   FUZZ_SEED       hypothesis seed (default: fixed, so CI runs are reproducible; `random` for a new one)
#
# Two passes: every operation except key revocation, then key revocation alone. Revoking keys is fuzzed last
# because it may revoke the very admin key the fuzzer authenticates with (the key list hands out its id);
# everything after that would answer 401 and test nothing.
#
# Any failure fails the run: there is no list of tolerated ones. The few rules JSON Schema cannot state are
# exceptions in scripts/fuzz/schemathesis.toml, each with its reason.
# The stateful phase is off: schemathesis 4.32.5 infers a link from customer creation to
# POST /v1/maintenance/health with an `id` parameter that operation does not have, and stops on it.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
CACHE=${RAPPEL_CACHE_DIR:-.cache}
VENV="$CACHE/venv-fuzz"
PYTHON=${PYTHON:-python3}
CARGO=${CARGO:-cargo}
EXAMPLES=${FUZZ_EXAMPLES:-8}
SEED=${FUZZ_SEED:-20261129}
START=$(date +%s)

# `st --version` prints "st, version X".
if [ "$("$VENV/bin/st" --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
  echo "fuzz: installing schemathesis==$SCHEMATHESIS_VERSION in $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

"$CARGO" build --quiet --bin rappel
WORK=$(mktemp -d)
# A copy, so that another build in the same target folder cannot swap the binary under the running server.
cp "${CARGO_TARGET_DIR:-target}/debug/rappel" "$WORK/rappel"
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KEY="fuzz_$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
BASE="http://127.0.0.1:$PORT"

RAPPEL_DATA_DIR="$WORK/data" RAPPEL_BIND="127.0.0.1:$PORT" RAPPEL_ADMIN_KEY="$KEY" RAPPEL_LOG_LEVEL=warn \
  RAPPEL_RATE_LIMIT_PER_SECOND=0 RAPPEL_EMBED_QUOTA_CHARS_PER_MINUTE=0 \
  RAPPEL_LOG_FORMAT=json "$WORK/rappel" serve > "$WORK/server.log" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$PYTHON" - "$BASE/readyz" <<'PY'
import sys, time, urllib.request
deadline = time.time() + 120
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=5).read()
        break
    except Exception:
        if time.time() > deadline:
            sys.exit("fuzz: the server did not become ready in 120 s")
        time.sleep(0.5)
PY

# One worker: with two, hypothesis inside schemathesis calls `ast.parse` from two threads at once, and CPython 3.11
# keeps the AST builder's recursion depth in state the threads share (python/cpython#106905), so a run now and then
# stopped on "SystemError: AST constructor recursion depth mismatch", an error of the fuzzer, not of the server.
st() {
  "$VENV/bin/st" --config-file scripts/fuzz/schemathesis.toml run openapi/openapi.json --url "$BASE" \
    --header "Authorization: Bearer $KEY" --checks all --max-examples "$EXAMPLES" --workers 1 \
    --no-color --phases examples,coverage,fuzzing "$@" ${SEED:+$( [ "$SEED" = random ] || echo "--seed $SEED")}
}
status=0
st --exclude-operation-id revoke_key || status=1
st --include-operation-id revoke_key || status=1

if ! kill -0 "$SERVER" 2>/dev/null; then
  echo "fuzz: the server died; its log:" && cat "$WORK/server.log"
  status=1
fi
# Rappel's own errors (a 5xx's cause, a panic); actix's complaints about unparseable requests are 400s.
if grep '"level":"ERROR"' "$WORK/server.log" | grep -q '"target":"rappel'; then
  echo "fuzz: the server logged errors:" && grep '"level":"ERROR"' "$WORK/server.log" | grep '"target":"rappel' | head -20
  status=1
fi
echo "fuzz: $EXAMPLES examples per operation, seed $SEED, $(($(date +%s) - START)) s, $([ $status = 0 ] && echo passed || echo FAILED)"
exit $status
