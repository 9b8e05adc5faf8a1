#!/usr/bin/env python3
"""Round trip of the demo store through PostgreSQL: does a migrated store answer the same context?

Loads the demo into a new redb store, copies it to a new PostgreSQL database with `rappel migrate`, copies that
back into a second redb store, then starts a server on each of the three stores and asks each for the
personalization context of every demo customer (two messages each), comparing the answers field by field
(numbers within 1e-3: recency weights move with the clock between the calls).

    python3 scripts/migrate-roundtrip.py --binary target/release/rappel --postgres postgres://postgres@127.0.0.1:PORT/postgres

The PostgreSQL URL names a server where the script may create a database (scripts/postgres.sh start prints one).
Exit status 1 when any answer differs.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

KEY = "roundtrip-admin-key-0123456789"
MESSAGES = ["My hub went offline again after the update", "Je voudrais un remboursement pour ma commande"]


def same(a, b):
    """Equal, numbers within 1e-3 (a recency weight moves with the clock between two calls)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= 1e-3
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {KEY}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=120) as res:
        return json.loads(res.read() or b"null")


def serve(binary, env, log, demo=False):
    port = free_port()
    full = dict(os.environ, RAPPEL_BIND=f"127.0.0.1:{port}", RAPPEL_ADMIN_KEY=KEY, RAPPEL_LOG_LEVEL="warn",
                RAPPEL_RATE_LIMIT_PER_SECOND="0", RAPPEL_EMBED_QUOTA_CHARS_PER_MINUTE="0", **env)
    args = [binary, "serve"] + (["--demo"] if demo else [])
    proc = subprocess.Popen(args, env=full, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        if proc.poll() is not None:
            sys.exit(f"server exited: see {log}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as res:
                if res.status == 200:
                    return proc, base
        except OSError:
            pass
        time.sleep(0.25)
    proc.kill()
    sys.exit(f"server not ready: see {log}")


def customers(base):
    out, cursor = [], None
    while True:
        page = call(base, "GET", "/v1/customers?limit=100" + (f"&cursor={cursor}" if cursor else ""))
        out += [c["id"] for c in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/rappel")
    ap.add_argument("--postgres", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rappel-roundtrip-")
    first, back = os.path.join(work, "first"), os.path.join(work, "back")
    database = f"rappel_roundtrip_{os.getpid()}"
    server, _ = args.postgres.rsplit("/", 1)
    pg = f"{server}/{database}"
    subprocess.run(["psql", args.postgres, "-qc", f"CREATE DATABASE {database}"], check=True)

    t = time.time()
    proc, base = serve(args.binary, {"RAPPEL_DATA_DIR": first}, os.path.join(work, "demo.log"), demo=True)
    proc.terminate()
    proc.wait()
    print(f"demo loaded into redb in {time.time() - t:.0f} s")
    for source, target in [(first, pg), (pg, back)]:
        t = time.time()
        out = subprocess.run([args.binary, "migrate", "--from", source, "--to", target], capture_output=True,
                             text=True, env=dict(os.environ, RAPPEL_LOG_LEVEL="warn"))
        print(out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "")
        if out.returncode != 0:
            sys.exit(f"migrate {source} -> {target} failed:\n{out.stdout}\n{out.stderr}")
        print(f"migrate {source.split('/')[-1]} -> {target.split('/')[-1]}: {time.time() - t:.1f} s")

    stores = {"redb (demo)": {"RAPPEL_DATA_DIR": first},
              "PostgreSQL (migrated)": {"RAPPEL_STORE": pg, "RAPPEL_DATA_DIR": os.path.join(work, "pg")},
              "redb (migrated back)": {"RAPPEL_DATA_DIR": back}}
    servers = {name: serve(args.binary, env, os.path.join(work, f"{i}.log")) for i, (name, env) in enumerate(stores.items())}
    try:
        bases = {name: base for name, (_, base) in servers.items()}
        ids = customers(bases["redb (demo)"])
        differ, compared = [], 0
        for cid in ids:
            for message in MESSAGES:
                answers = {name: call(base, "POST", f"/v1/customers/{cid}/context", {"message": message})
                           for name, base in bases.items()}
                reference = answers["redb (demo)"]
                for name, answer in answers.items():
                    compared += 1
                    if not same(answer, reference):
                        keys = sorted(k for k in reference if not same(reference.get(k), answer.get(k)))
                        differ.append((cid, message, name, keys))
        print(f"{len(ids)} customers x {len(MESSAGES)} messages x {len(bases)} stores: {compared} contexts compared, "
              f"{len(differ)} differ from the demo store's")
        for cid, message, name, keys in differ[:20]:
            print(f"  {cid} on {name} ({message!r}): {', '.join(keys)}")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()
        subprocess.run(["psql", args.postgres, "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"])
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
