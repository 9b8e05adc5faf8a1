// Bundles src/ into dist/: index.html plus content-hashed JS and CSS, referenced by relative paths so the
// console works under any prefix (the binary serves it at /console/).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const watch = process.argv.includes('--dev');

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(root, 'src/main.tsx')],
  bundle: true,
  minify: !watch,
  sourcemap: false,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: 'out',
  write: false,
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

const files = {};
let sizes = [];
for (const f of result.outputFiles) {
  const ext = f.path.endsWith('.css') ? 'css' : 'js';
  const hash = createHash('sha256').update(f.contents).digest('hex').slice(0, 10);
  const name = `assets/console-${hash}.${ext}`;
  writeFileSync(join(dist, name), f.contents);
  files[ext] = name;
  sizes.push([name, f.contents.length, gzipSync(f.contents, { level: 9 }).length]);
}

const template = readFileSync(join(root, 'src/index.html'), 'utf8');
const html = template
  .replace('<!--CSS-->', files.css ? `<link rel="stylesheet" href="./${files.css}">` : '')
  .replace('<!--JS-->', `<script type="module" src="./${files.js}"></script>`);
writeFileSync(join(dist, 'index.html'), html);
sizes.push(['index.html', Buffer.byteLength(html), gzipSync(html, { level: 9 }).length]);

let raw = 0, gz = 0;
for (const [name, r, g] of sizes) {
  raw += r; gz += g;
  console.log(`${name.padEnd(36)} ${(r / 1024).toFixed(1).padStart(7)} KB  ${(g / 1024).toFixed(1).padStart(6)} KB gzip`);
}
console.log(`${'total'.padEnd(36)} ${(raw / 1024).toFixed(1).padStart(7)} KB  ${(gz / 1024).toFixed(1).padStart(6)} KB gzip`);
