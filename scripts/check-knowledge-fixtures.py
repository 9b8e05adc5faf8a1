#!/usr/bin/env python3
"""Check fixtures/demo/knowledge (front matter, headings, word counts) and fixtures/eval/knowledge.ndjson (every (doc, heading) exists, ids unique, splits). Usage: python3 scripts/check-knowledge-fixtures.py [repo-root]"""
import glob, json, os, re, sys, collections, datetime
from html.parser import HTMLParser

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
KB = os.path.join(ROOT, 'fixtures/demo/knowledge')
EVAL = os.path.join(ROOT, 'fixtures/eval/knowledge.ndjson')
PRODUCTS = {'hub-v1','hub-v2','smart-lock','sensors','app','billing','account','general'}
REQUIRED = ['title','url','language','product','tags','updated_at']
TODAY = datetime.date(2026, 11, 25)
errors = []

class HtmlDoc(HTMLParser):
    def __init__(self):
        super().__init__(); self.meta = {}; self.title = ''; self.heads = []; self._cur = None; self._in_title = False
        self.body_text = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'meta' and 'name' in a: self.meta[a['name']] = a.get('content','')
        if tag == 'title': self._in_title = True
        if tag in ('h2','h3'): self._cur = [tag, '']
    def handle_endtag(self, tag):
        if tag == 'title': self._in_title = False
        if self._cur and tag == self._cur[0]:
            self.heads.append((int(tag[1]), self._cur[1].strip())); self._cur = None
    def handle_data(self, d):
        if self._in_title: self.title += d
        if self._cur: self._cur[1] += d
        self.body_text.append(d)

def parse(path):
    txt = open(path, encoding='utf-8').read()
    if path.endswith('.md'):
        m = re.match(r'^---\n(.*?)\n---\n', txt, re.S)
        if not m: errors.append(f'{path}: no front matter'); return {}, [], 0
        meta = {}
        for line in m.group(1).splitlines():
            k, _, v = line.partition(':'); meta[k.strip()] = v.strip()
        body = txt[m.end():]
        heads = [(len(h.group(1)), h.group(2).strip()) for h in re.finditer(r'^(#{2,3}) (.+?)\s*$', body, re.M)]
        words = len(re.findall(r'\w+', body))
        return meta, heads, words
    p = HtmlDoc(); p.feed(txt)
    meta = dict(p.meta); meta['title'] = p.title.strip()
    words = len(re.findall(r'\w+', ' '.join(p.body_text)))
    return meta, p.heads, words

docs = {}
urls = collections.Counter()
for path in sorted(glob.glob(os.path.join(KB, '*', '*'))):
    rel = os.path.relpath(path, KB)
    if not rel.endswith(('.md', '.html')): continue
    meta, heads, words = parse(path)
    for k in REQUIRED:
        if not meta.get(k): errors.append(f'{rel}: missing {k}')
    lang_dir = rel.split('/')[0]
    if meta.get('language') != lang_dir: errors.append(f'{rel}: language {meta.get("language")} != folder {lang_dir}')
    if meta.get('product') not in PRODUCTS: errors.append(f'{rel}: bad product {meta.get("product")}')
    url = meta.get('url', '')
    if not url.startswith(f'https://help.lumen.example/{lang_dir}/articles/'): errors.append(f'{rel}: bad url {url}')
    urls[url] += 1
    for k in ('updated_at', 'valid_until'):
        if meta.get(k):
            try: datetime.date.fromisoformat(meta[k])
            except ValueError: errors.append(f'{rel}: bad {k} {meta[k]}')
    if meta.get('updated_at') and not ('2025-01-01' <= meta['updated_at'] <= '2026-11-30'):
        errors.append(f'{rel}: updated_at out of range')
    if not (300 <= words <= 1300): errors.append(f'{rel}: {words} words')
    hc = collections.Counter(h for _, h in heads)
    for h, n in hc.items():
        if n > 1: errors.append(f'{rel}: duplicate heading {h!r}')
    if len(heads) < 3: errors.append(f'{rel}: only {len(heads)} headings')
    docs[rel] = dict(meta=meta, heads={h for _, h in heads}, words=words, html=rel.endswith('.html'))
for u, n in urls.items():
    if n > 1: errors.append(f'duplicate url {u}')

expired = [d for d, v in docs.items() if v['meta'].get('valid_until') and datetime.date.fromisoformat(v['meta']['valid_until']) < TODAY]
timebound = [d for d, v in docs.items() if v['meta'].get('valid_until')]

qs = [json.loads(l) for l in open(EVAL, encoding='utf-8')]
ids = collections.Counter(q['id'] for q in qs)
for i, n in ids.items():
    if n > 1: errors.append(f'duplicate id {i}')
cited = collections.Counter()
for q in qs:
    for k in ('id', 'language', 'question', 'relevant', 'split'):
        if k not in q: errors.append(f'{q.get("id")}: missing {k}')
    if q['split'] not in ('dev', 'heldout'): errors.append(f'{q["id"]}: bad split')
    if len(q['relevant']) > 2: errors.append(f'{q["id"]}: >2 relevant')
    for r in q['relevant']:
        d = docs.get(r['doc'])
        if d is None: errors.append(f'{q["id"]}: unknown doc {r["doc"]}'); continue
        if r['heading'] not in d['heads']: errors.append(f'{q["id"]}: heading {r["heading"]!r} not in {r["doc"]}')
        if r['doc'] in expired: errors.append(f'{q["id"]}: cites expired doc {r["doc"]}')
        cited[r['doc']] += 1
    langs = {r['doc'].split('/')[0] for r in q['relevant']}
    if q.get('cross_lingual') and (not langs or q['language'] in langs):
        errors.append(f'{q["id"]}: cross_lingual flag but answer in same language')
    if not q.get('cross_lingual') and langs and q['language'] not in langs:
        errors.append(f'{q["id"]}: answer only in other language but not flagged cross_lingual')

def product(q):
    return docs[q['relevant'][0]['doc']]['meta']['product'] if q['relevant'] else '(none)'

print('== documents')
print('total', len(docs), '| html', sum(v['html'] for v in docs.values()), '| md', sum(not v['html'] for v in docs.values()))
print('by language', dict(collections.Counter(d.split('/')[0] for d in docs)))
print('by product', dict(sorted(collections.Counter(v['meta']['product'] for v in docs.values()).items())))
print('by product x language', dict(sorted(collections.Counter((v['meta']['product'], d[:2]) for d, v in docs.items()).items())))
print('words min/median/max', min(v['words'] for v in docs.values()), sorted(v['words'] for v in docs.values())[len(docs)//2], max(v['words'] for v in docs.values()))
print('time-bound', timebound, '| expired', expired)
print('never cited', [d for d in docs if not cited[d] and d not in expired])
print('== questions')
print('total', len(qs), '| by language', dict(collections.Counter(q['language'] for q in qs)))
print('by split', dict(collections.Counter(q['split'] for q in qs)))
print('cross_lingual', sum(bool(q.get('cross_lingual')) for q in qs), '| no-answer', sum(not q['relevant'] for q in qs),
      '| must_not_cite (expired topic)', sum(bool(q.get('must_not_cite')) for q in qs),
      '| 2 relevant', sum(len(q['relevant']) == 2 for q in qs))
for s in ('dev', 'heldout'):
    sub = [q for q in qs if q['split'] == s]
    print(s, 'languages', dict(collections.Counter(q['language'] for q in sub)))
    print(s, 'products', dict(sorted(collections.Counter(product(q) for q in sub).items())))
    miss = sorted({(p, l) for p in PRODUCTS for l in ('en', 'fr')} - {(product(q), q['language']) for q in sub})
    print(s, 'missing product x language', miss)
    print(s, 'cross', sum(bool(q.get('cross_lingual')) for q in sub), 'no-answer', sum(not q['relevant'] for q in sub), 'expired-topic', sum(bool(q.get('must_not_cite')) for q in sub))
print('== errors:', len(errors))
for e in errors: print('  ', e)
sys.exit(1 if errors else 0)
