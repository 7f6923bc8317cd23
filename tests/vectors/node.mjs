// The WebAssembly build checked in Node against the native vectors (CI, after wasm/build.sh
// --check):  node tests/vectors/node.mjs
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkVectors } from './check.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SpeakupCrypto = createRequire(import.meta.url)(join(root, 'static', 'speakup.js'));
const api = await SpeakupCrypto.instantiate(readFileSync(join(root, 'static', 'speakup-crypto.wasm')));
const vectors = JSON.parse(readFileSync(join(root, 'tests', 'vectors', 'crypto.json'), 'utf8'));
const { checks, failures } = checkVectors(api, vectors);
for (const failure of failures) console.error(`  FAIL ${failure}`);
console.log(`WebAssembly vectors in Node ${process.version}: ${checks - failures.length}/${checks} checks passed`);
process.exit(failures.length ? 1 : 0);
