// Serves console/dist under /console/ and forwards /v1/*, /healthz and /readyz to a Rappel server, so the console
// talks to the API on its own origin, as it will once the binary serves it.
//   node e2e/serve.mjs [--port 18090] [--target http://127.0.0.1:18081]
import { createServer, request as httpRequest } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export function startServer({ port = 0, host = '127.0.0.1', target = process.env.RAPPEL_URL ?? 'http://127.0.0.1:18081', dist = resolve(here, '../dist') } = {}) {
  const upstream = new URL(target);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.startsWith('/v1/') || url.pathname === '/healthz' || url.pathname === '/readyz' || url.pathname.startsWith('/api-docs/')) {
      const p = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      p.on('error', (e) => {
        res.writeHead(502, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ type: 'about:blank', title: 'Rappel server unreachable', status: 502, detail: e.message, code: 'bad_gateway' }));
      });
      req.pipe(p);
      return;
    }
    if (url.pathname === '/' || url.pathname === '/console') {
      res.writeHead(308, { location: '/console/' });
      return res.end();
    }
    if (!url.pathname.startsWith('/console/')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    let rel = decodeURIComponent(url.pathname.slice('/console/'.length)) || 'index.html';
    const file = normalize(join(dist, rel));
    if (!file.startsWith(dist)) {
      res.writeHead(403);
      return res.end();
    }
    try {
      const s = await stat(file);
      if (!s.isFile()) throw new Error('not a file');
      const body = await readFile(file);
      const immutable = rel.startsWith('assets/');
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        'x-content-type-options': 'nosniff',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((ok, ko) => {
    server.once('error', ko);
    server.listen(port, host, () => {
      const a = server.address();
      ok({ server, url: `http://${host}:${a.port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : def;
  };
  const { url } = await startServer({ port: Number(arg('--port', process.env.PORT ?? 18090)), target: arg('--target', process.env.RAPPEL_URL ?? 'http://127.0.0.1:18081') });
  console.log(`console on ${url}/console/ (API forwarded to ${arg('--target', process.env.RAPPEL_URL ?? 'http://127.0.0.1:18081')})`);
}
