#!/usr/bin/env python3
"""Mixed-load soak test against a running Rappel server (Python 3 standard library only).

Sends, from N threads over keep-alive connections, for --minutes:
  70 % context  (POST /v1/customers/{id}/context with an English or French message)
  20 % ingest   (POST /v1/customers/{id}/interactions, 1-3 messages; one in five for a new customer)
   5 % search   (POST /v1/search)
   5 % outreach (POST /v1/outreach to keep the queue stocked, then POST /v1/outreach/claim and an ack per item)
Records per endpoint count, errors (every non-2xx, by status and problem code), p50/p99 latency, overall
throughput, and the server's resident memory (VmRSS of --pid) at start, every minute and at the end.

    python3 scripts/soak.py --minutes 10 --url http://127.0.0.1:18990 --key KEY --pid PID
"""

import argparse
import collections
import http.client
import json
import random
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timezone

CONTEXT_MESSAGES = [
    "Hi, my hub keeps disconnecting every night around 2am. Any idea why?",
    "This is the third time I'm writing about the same problem and nobody has fixed it.",
    "Can you tell me when my replacement motion sensor will ship?",
    "I was charged twice this month, please refund the duplicate payment.",
    "Thanks, the firmware update fixed the issue, everything works now.",
    "If this isn't sorted by Friday I'm cancelling my subscription.",
    "How do I add a second site to my account?",
    "Bonjour, mon hub se déconnecte toutes les nuits, pouvez-vous m'aider ?",
    "C'est la troisième fois que j'écris, toujours rien reçu !!",
    "Je voudrais changer mon adresse de livraison s'il vous plaît.",
    "Merci beaucoup, le problème est résolu depuis la mise à jour.",
    "Ma facture de ce mois est incorrecte, j'ai été débité deux fois.",
    "Pouvez-vous me rappeler plutôt par téléphone, je ne lis pas mes e-mails.",
]

CUSTOMER_LINES = [
    "My parcel {ref} never arrived, the tracking says delivered but there is nothing at my door.",
    "The hub drops off the Wi-Fi every evening and I have to unplug it to get it back.",
    "Please only contact me by email, I never answer unknown phone numbers.",
    "I moved to a new flat last week, my new address is 14 Rowan Street.",
    "The motion sensor battery lasts two weeks at most, that can't be normal.",
    "I was promised a callback on Monday and nobody called. Again.",
    "Could you upgrade us to the business plan? We now have 12 seats.",
    "Thanks, the replacement works perfectly.",
    "Mon colis {ref} n'est jamais arrivé, le suivi indique livré mais je n'ai rien reçu.",
    "Le hub se déconnecte tous les soirs, je dois le débrancher pour qu'il revienne.",
    "Je préfère être contacté par e-mail, merci de ne pas m'appeler.",
    "On m'avait promis un remboursement sous cinq jours, j'attends toujours.",
    "Nous avons déménagé, la nouvelle adresse est 3 rue des Lilas à Lyon.",
    "Merci, tout fonctionne à nouveau depuis la mise à jour.",
]

AGENT_LINES = [
    "Sorry about that! I've reshipped it and you'll have a tracking number by tomorrow.",
    "Thanks for the details, we'll push a firmware fix by Friday and I'll follow up.",
    "I've noted your preference, we'll only use email from now on.",
    "Désolé pour ce désagrément, je vous renvoie un colis dès aujourd'hui.",
    "Merci, je transmets à l'équipe technique et je reviens vers vous d'ici vendredi.",
]

SEARCH_QUERIES = [
    "hub disconnects at night",
    "parcel never arrived",
    "charged twice refund",
    "colis jamais reçu",
    "battery drains fast motion sensor",
    "wants to cancel subscription",
    "le hub se déconnecte",
]

CHANNELS = ["email", "chat", "phone", "social", "in_app"]  # interaction channels (no sms)
FIRST = ["Ana", "Tom", "Léa", "Hugo", "Priya", "Marc", "Chloé", "Sam", "Inès", "Jonas"]
LAST = ["Moreau", "Patel", "Garcia", "Lefèvre", "Nguyen", "Schmidt", "Bernard", "Okoro"]


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.lat = collections.defaultdict(list)
        self.errors = collections.defaultdict(collections.Counter)
        self.samples = {}
        self.notes = collections.Counter()

    def record(self, endpoint, seconds, status, code, detail=None):
        with self.lock:
            self.lat[endpoint].append(seconds)
            if not 200 <= status < 300:
                key = f"{status} {code or ''}".strip()
                self.errors[endpoint][key] += 1
                if key not in self.samples:
                    self.samples[key] = f"{endpoint}: {detail}"

    def note(self, what, n=1):
        with self.lock:
            self.notes[what] += n


class Client:
    """One keep-alive connection; reconnects after a connection failure (counted as status 0)."""

    def __init__(self, url, key, stats):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port or 80
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.stats = stats
        self.conn = None

    def call(self, endpoint, method, path, body=None, record=True):
        data = json.dumps(body).encode() if body is not None else None
        t0 = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.conn.request(method, path, body=data, headers=self.headers)
            res = self.conn.getresponse()
            raw = res.read()
            status = res.status
        except (OSError, http.client.HTTPException) as e:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            if record:
                self.stats.record(endpoint, time.perf_counter() - t0, 0, type(e).__name__, str(e))
            return 0, None
        elapsed = time.perf_counter() - t0
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        failed = isinstance(doc, dict) and not 200 <= status < 300
        code = doc.get("code") if failed else None
        if record:
            self.stats.record(endpoint, elapsed, status, code, doc.get("detail") if failed else raw[:200])
        return status, doc


class Soak:
    def __init__(self, args):
        self.args = args
        self.stats = Stats()
        self.run = uuid.uuid4().hex[:8]
        self.customers = []
        self.out_customers = []
        self.lock = threading.Lock()
        self.seq = 0

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def new_customer(self, client, endpoint="customer_create", outreach=False):
        n = self.next_seq()
        first, last = random.choice(FIRST), random.choice(LAST)
        french = random.random() < 0.5
        body = {
            "external_id": f"soak-{self.run}-{n}",
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{n}@soak-{self.run}.example.com",
            "language": "fr-FR" if french else "en-GB",
            "timezone": "UTC" if outreach else random.choice(["Europe/Paris", "Europe/London"]),
            "plan": random.choice(["free", "pro", "business"]),
            "tags": ["soak"],
        }
        status, doc = client.call(endpoint, "POST", "/v1/customers", body)
        if status != 201:
            return None
        cid = doc["id"]
        if outreach:
            prefs = {"consent": {"email": {"granted": True}}}
            client.call("preferences_put", "PUT", f"/v1/customers/{cid}/preferences", prefs)
        else:
            with self.lock:
                self.customers.append(cid)
        return cid

    def setup(self, client):
        deadline = time.time() + 120
        while client.call("readyz", "GET", "/readyz", record=False)[0] != 200:
            if time.time() > deadline:
                raise SystemExit("server not ready after 120 s")
            time.sleep(1)
        cursor = None
        while True:
            path = "/v1/customers?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            status, page = client.call("setup", "GET", path, record=False)
            if status != 200:
                raise SystemExit(f"listing customers: {status} {page}")
            self.customers += [c["id"] for c in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        print(f"{len(self.customers)} existing customers", flush=True)
        for _ in range(self.args.outreach_customers):
            cid = self.new_customer(client, "setup_customer", outreach=True)
            if cid:
                self.out_customers.append(cid)
        for _ in range(self.args.prequeue):
            self.queue_one(client, "setup_queue")
        print(f"{len(self.out_customers)} outreach customers, {self.args.prequeue} items queued ahead", flush=True)

    def queue_one(self, client, endpoint="outreach_queue"):
        cid = random.choice(self.out_customers)
        body = {
            "customer_id": cid,
            "reason_code": "soak_follow_up",
            "reason": "soak test follow-up",
            "evidence": [f"soak-{self.run}-{self.next_seq()}"],
            "channels": ["email"],
            "templates": {"en": "Hi {first_name}, checking in.", "fr": "Bonjour {first_name}, des nouvelles ?"},
        }
        status, doc = client.call(endpoint, "POST", "/v1/outreach", body)
        if status == 200 and isinstance(doc, dict) and doc.get("outcome") == "skipped":
            self.stats.note(f"outreach skipped: {doc.get('rule')}")

    def op_context(self, client):
        cid = random.choice(self.customers)
        body = {"message": random.choice(CONTEXT_MESSAGES)}
        client.call("context", "POST", f"/v1/customers/{cid}/context", body)

    def op_ingest(self, client):
        if random.random() < 0.2:
            cid = self.new_customer(client)
            if cid is None:
                return
        else:
            cid = random.choice(self.customers)
        n = self.next_seq()
        ext = f"soak-{self.run}-int-{n}"
        msgs = []
        for i in range(random.randint(1, 3)):
            agent = i % 2 == 1
            text = random.choice(AGENT_LINES if agent else CUSTOMER_LINES)
            text = text.replace("{ref}", f"LM-{random.randint(10000, 99999)}")
            msgs.append({"id": f"{ext}-m{i + 1}", "role": "agent" if agent else "customer",
                         "author": "Support" if agent else "Customer", "text": text, "sent_at": now_iso()})
        body = {"external_id": ext, "channel": random.choice(CHANNELS), "subject": "Soak ticket",
                "status": "open", "opened_at": msgs[0]["sent_at"], "messages": msgs}
        client.call("ingest", "POST", f"/v1/customers/{cid}/interactions", body)

    def op_search(self, client):
        client.call("search", "POST", "/v1/search", {"query": random.choice(SEARCH_QUERIES)})

    def op_outreach(self, client):
        self.queue_one(client)
        status, items = client.call("outreach_claim", "POST", "/v1/outreach/claim",
                                    {"channel": "email", "max": 2, "lease_seconds": 120})
        if status != 200 or not isinstance(items, list):
            return
        self.stats.note("claimed items", len(items))
        if not items:
            self.stats.note("empty claims")
        for item in items:
            ack = {"status": "sent", "provider_message_id": f"soak-{item['id']}"}
            client.call("outreach_ack", "POST", f"/v1/outreach/{item['id']}/ack", ack)

    def worker(self, deadline):
        client = Client(self.args.url, self.args.key, self.stats)
        shares = [float(x) for x in self.args.mix.split(",")]
        total = sum(shares)
        ops, bound = [], 0.0
        for share, op in zip(shares, [self.op_context, self.op_ingest, self.op_search, self.op_outreach]):
            bound += share / total
            ops.append((bound, op))
        while time.time() < deadline:
            r = random.random()
            for bound, op in ops:
                if r < bound:
                    op(client)
                    break

    def rss(self):
        if not self.args.pid:
            return None
        try:
            with open(f"/proc/{self.args.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) // 1024
        except OSError:
            return None
        return None

    def main(self):
        self.setup(Client(self.args.url, self.args.key, self.stats))
        duration = self.args.minutes * 60
        rss = [("start", self.rss())]
        print(f"RSS start: {rss[0][1]} MiB", flush=True)
        t0 = time.time()
        deadline = t0 + duration
        threads = [threading.Thread(target=self.worker, args=(deadline,)) for _ in range(self.args.workers)]
        for t in threads:
            t.start()
        minute = 1
        while minute * 60 < duration:
            time.sleep(max(0.0, t0 + minute * 60 - time.time()))
            with self.stats.lock:
                done = sum(len(v) for k, v in self.stats.lat.items() if not k.startswith("setup"))
                errs = sum(sum(c.values()) for c in self.stats.errors.values())
            rss.append((f"{minute} min", self.rss()))
            print(f"[{minute:2d} min] requests {done}, errors {errs}, RSS {rss[-1][1]} MiB", flush=True)
            minute += 1
        for t in threads:
            t.join()
        elapsed = time.time() - t0
        rss.append(("end", self.rss()))
        self.report(elapsed, rss)

    def report(self, elapsed, rss):
        s = self.stats
        order = ["context", "ingest", "customer_create", "search", "outreach_queue", "outreach_claim",
                 "outreach_ack"]
        rows = [e for e in order if e in s.lat] + sorted(e for e in s.lat if e not in order)

        def pct(v, p):
            v = sorted(v)
            return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] * 1000

        total = sum(len(s.lat[e]) for e in rows if not e.startswith("setup") and e != "preferences_put")
        print(f"\nDuration {elapsed:.0f} s, {self.args.workers} workers, {total} requests, "
              f"throughput {total / elapsed:.1f} req/s")
        print(f"{'endpoint':<18}{'count':>8}{'errors':>8}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for e in rows:
            v = s.lat[e]
            print(f"{e:<18}{len(v):>8}{sum(s.errors[e].values()):>8}{len(v) / elapsed:>8.1f}"
                  f"{pct(v, 50):>9.1f}{pct(v, 99):>9.1f}{max(v) * 1000:>9.1f}")
        errs = {e: dict(c) for e, c in s.errors.items() if c}
        print("errors by endpoint:", json.dumps(errs) if errs else "none")
        for key, sample in s.samples.items():
            print(f"  first {key}: {sample}")
        if s.notes:
            print("notes:", json.dumps(dict(s.notes)))
        print("RSS (MiB): " + ", ".join(f"{k} {v}" for k, v in rss))


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--url", default="http://127.0.0.1:18990")
    p.add_argument("--key", default="soaksoaksoaksoak1234", help="an admin/write key (the server's admin_key)")
    p.add_argument("--pid", type=int, help="server PID, for VmRSS sampling")
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--mix", default="70,20,5,5",
                   help="shares of context, ingest, search and outreach (e.g. 95,0,5,0 for a read-only run)")
    p.add_argument("--outreach-customers", type=int, default=20)
    p.add_argument("--prequeue", type=int, default=100, help="outreach items queued before the load starts")
    return p.parse_args()


if __name__ == "__main__":
    Soak(parse()).main()
