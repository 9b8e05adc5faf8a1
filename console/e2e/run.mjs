// Starts a throw-away Rappel server with the demo data, runs the browser tests against it (logged in with the
// development key the server prints), stops it.
//   node e2e/run.mjs            (RAPPEL_BIN defaults to ../target/release/rappel, run from the repository root)
// The console is tested where the binary serves it (/console/) when it does, else through e2e/serve.mjs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const bin = resolve(repo, process.env.RAPPEL_BIN ?? 'target/release/rappel');

const freePort = () =>
  new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'rappel-console-e2e-'));
const server = spawn(bin, ['serve', '--demo'], {
  cwd: repo,
  env: { ...process.env, RAPPEL_DATA_DIR: dataDir, RAPPEL_BIND: `127.0.0.1:${port}`, RAPPEL_LOG_FORMAT: 'json' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
// The tests log in with the development key `serve --demo` prints, as a new user would.
let demoKey = null;
let printed = '';
server.stdout.on('data', (chunk) => {
  printed += chunk;
  demoKey ??= printed.match(/\b(rpl_[A-Za-z0-9_-]{16,})/)?.[1] ?? null;
});
let exited = false;
server.on('exit', (code) => {
  exited = true;
  if (code) console.error(`rappel exited with ${code}`);
});

const stop = () => {
  if (!exited) server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
};
process.on('SIGINT', () => (stop(), process.exit(130)));

let status = 1;
try {
  const deadline = Date.now() + 240_000;
  for (;;) {
    if (exited) throw new Error('rappel stopped before it was ready');
    if (Date.now() > deadline) throw new Error('rappel was not ready in 240 s');
    try {
      if (demoKey) {
        const r = await fetch(`${url}/v1/customers/by-external-id/cus-1033`, { headers: { Authorization: `Bearer ${demoKey}` } });
        if (r.status === 200) break;
      }
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const env = { ...process.env, RAPPEL_URL: url, RAPPEL_KEY: demoKey };
  delete env.RAPPEL_READ_KEY;
  try {
    const r = await fetch(`${url}/console/`);
    if (r.ok && (r.headers.get('content-type') ?? '').includes('html')) env.RAPPEL_CONSOLE_URL = `${url}/console/`;
  } catch {
    /* served by e2e/serve.mjs */
  }
  const tests = spawn(process.execPath, ['--test', '--test-concurrency=1', join(here, 'console.test.mjs')], { env, stdio: 'inherit' });
  status = await new Promise((ok) => tests.on('exit', (code) => ok(code ?? 1)));
} catch (e) {
  console.error(e.message);
} finally {
  stop();
}
process.exit(status);
