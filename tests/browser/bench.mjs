// Benchmarks of the crypto module (issue 14), for the README's figures:
//   cd tests/browser && npm run bench
// Module size (raw and gzip -9), sealing a 2 KiB concern and Argon2id at the production cost
// (64 MiB, 3 passes) in Chromium (Debian's, through playwright-core) and in Node. Not part of
// CI: timings depend on the machine; the tests only check behaviour.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const wasm = readFileSync(join(root, 'static', 'speakup-crypto.wasm'));
const loader = readFileSync(join(root, 'static', 'speakup.js'), 'utf8');

// Runs inside the page (and in Node): seal 2 KiB `seals` times (in batches of 50), Argon2id
// `kdfs` times.
async function measure(api, seals, kdfs) {
  const stats = (times) => {
    const sorted = [...times].sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return { min: sorted[0], median: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] };
  };
  const key = api.dataKeyGenerate();
  const aad = { scope: 'c'.repeat(32), kind: 'concern', record: 'r'.repeat(32),
    provenance: { author: 'reporter', position: 1, writtenOn: '2026-12-04' } };
  const text = 'x'.repeat(2048);
  // Browsers coarsen performance.now() (to 0.1 ms without cross-origin isolation): time
  // batches of 50 seals and report the mean of each batch.
  const sealTimes = [];
  for (let batch = 0; batch < seals / 50; batch += 1) {
    const started = performance.now();
    for (let i = 0; i < 50; i += 1) api.seal(key, aad, text);
    sealTimes.push((performance.now() - started) / 50);
  }
  const kdfTimes = [];
  for (let i = 0; i < kdfs; i += 1) {
    const started = performance.now();
    api.passwordKeys('correct horse battery staple', new Uint8Array(16), { memoryKib: 65536, iterations: 3, parallelism: 1 });
    kdfTimes.push(performance.now() - started);
  }
  return { seal2KiB: stats(sealTimes), argon2id64MiB: stats(kdfTimes) };
}

const fmt = (s) => `min ${s.min.toFixed(3)} / median ${s.median.toFixed(3)} / p95 ${s.p95.toFixed(3)} / max ${s.max.toFixed(3)} ms`;

console.log(`module: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} bytes gzip -9`);
console.log(`loader: ${Buffer.byteLength(loader)} bytes raw`);

const SpeakupCrypto = createRequire(import.meta.url)(join(root, 'static', 'speakup.js'));
const nodeResult = await measure(await SpeakupCrypto.instantiate(wasm), 1000, 5);
console.log(`Node ${process.version}: seal 2 KiB ${fmt(nodeResult.seal2KiB)}`);
console.log(`Node ${process.version}: Argon2id 64 MiB t=3 ${fmt(nodeResult.argon2id64MiB)}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  await page.setContent('<!doctype html><title>bench</title>');
  await page.addScriptTag({ content: loader });
  const result = await page.evaluate(
    async ([bytes, source]) => {
      const measureInPage = eval(`(${source})`);
      const api = await SpeakupCrypto.instantiate(new Uint8Array(bytes));
      return measureInPage(api, 1000, 5);
    },
    [[...wasm], measure.toString()],
  );
  const version = browser.version();
  console.log(`Chromium ${version}: seal 2 KiB ${fmt(result.seal2KiB)}`);
  console.log(`Chromium ${version}: Argon2id 64 MiB t=3 ${fmt(result.argon2id64MiB)}`);
} finally {
  await browser.close();
}
