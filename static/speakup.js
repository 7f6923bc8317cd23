// speakup.js: the page's side of speakup-crypto.wasm (speakup's Rust crypto core, src/crypto,
// compiled to WebAssembly by wasm/build.sh). It only moves bytes in and out of the module; every
// cryptographic operation happens in the module. Works in browsers (as a classic script, which
// sets `SpeakupCrypto`) and in Node (require), so the same glue is what the tests check.
//
// In a page:
//   <script src="/static/speakup.js" integrity="sha384-…"
//           data-module="/static/speakup-crypto.wasm" data-module-integrity="sha384-…"></script>
// loads the module with Subresource Integrity and exposes `SpeakupCrypto.ready` (a promise of
// the API below).
(function (root) {
  'use strict';

  const FAILURES = {
    '-1': ['decrypt', 'the data did not authenticate (wrong key or altered)'],
    '-2': ['input', 'malformed input'],
    '-3': ['case_key_malformed', 'that is not a case key'],
    '-4': ['case_key_typo', 'the case key does not check out; it was probably mistyped'],
    '-5': ['internal', 'the cryptography could not run'],
    '-6': [
      'file_damaged',
      'this file looks damaged, so its hidden details (such as location) cannot be removed safely; open it and save a copy, or take a screenshot, and attach that instead',
    ],
    '-7': ['order', 'file operations out of order'],
  };

  class SpeakupCryptoError extends Error {
    constructor(status) {
      const [code, message] = FAILURES[String(status)] || ['internal', 'unexpected answer'];
      super(message);
      this.name = 'SpeakupCryptoError';
      this.code = code;
    }
  }

  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { fatal: true });

  function asBytes(value) {
    return typeof value === 'string' ? encoder.encode(value) : value;
  }

  // The associated data a sealed record is bound to, as the module reads it (wasm/src/lib.rs):
  // scope, kind, record, and for format 2 the provenance (absent ids are empty lines).
  function aadSpec(aad) {
    const lines = [aad.scope, aad.kind, aad.record];
    const p = aad.provenance;
    if (p) {
      lines.push(p.author, p.authorUserId || '', p.eventId || '', String(p.position), p.writtenOn);
    }
    return lines.join('\n');
  }

  function bind(exports) {
    const memory = exports.memory;

    // Copies each input into module memory, runs the export, copies the output out, and wipes
    // both the inputs and the module's result buffer.
    function call(name, inputs, numbers) {
      const buffers = inputs.map((input) => {
        const bytes = asBytes(input);
        const ptr = exports.su_alloc(bytes.length);
        new Uint8Array(memory.buffer, ptr, bytes.length).set(bytes);
        return [ptr, bytes.length];
      });
      try {
        const status = exports[name](...buffers.flat(), ...(numbers || []));
        if (status < 0) throw new SpeakupCryptoError(status);
        const out = new Uint8Array(status);
        out.set(new Uint8Array(memory.buffer, exports.su_result_ptr(), status));
        exports.su_result_clear();
        return out;
      } finally {
        for (const [ptr, len] of buffers) exports.su_free(ptr, len);
      }
    }

    return {
      /** A new case key in its display form. */
      caseKeyGenerate() {
        return decoder.decode(call('su_case_key_generate', []));
      },
      /** What a case key (as typed) gives: its lookup id, the reporter's public key, and the key
       * in display form. Throws code `case_key_typo` or `case_key_malformed`. */
      caseKeyDerive(caseKey) {
        const out = call('su_case_key_derive', [caseKey]);
        return {
          lookupId: out.slice(0, 32),
          reporterPublic: out.slice(32, 64),
          display: decoder.decode(out.slice(64)),
        };
      },
      /** 32 random bytes for a case data key or identity key. */
      dataKeyGenerate() {
        return call('su_data_key_generate', []);
      },
      /** Seals bytes (or a string, as UTF-8) under a data key, bound to `aad`
       * ({scope, kind, record, provenance?: {author, authorUserId?, eventId?, position, writtenOn}}). */
      seal(key, aad, plaintext) {
        return call('su_seal', [key, aadSpec(aad), plaintext]);
      },
      /** Opens sealed bytes; throws code `decrypt` if they do not authenticate. */
      open(key, aad, sealed) {
        return call('su_open', [key, aadSpec(aad), sealed]);
      },
      /** Opens sealed bytes as UTF-8 text. */
      openText(key, aad, sealed) {
        return decoder.decode(this.open(key, aad, sealed));
      },
      /** Wraps a data key to a recipient's X25519 public key for a case and kind ('case' | 'identity'). */
      wrap(dataKey, recipientPublic, caseId, kind) {
        return call('su_wrap', [dataKey, recipientPublic, caseId, kind]);
      },
      /** Unwraps a data key with a 32-byte secret key. */
      unwrap(secretKey, wrapped, caseId, kind) {
        return call('su_unwrap', [secretKey, wrapped, caseId, kind]);
      },
      /** Unwraps a data key wrapped to the reporter; the reporter's secret never leaves the module. */
      unwrapWithCaseKey(caseKey, wrapped, caseId, kind) {
        return call('su_unwrap_with_case_key', [caseKey, wrapped, caseId, kind]);
      },
      /** The X25519 public key of a 32-byte secret key. */
      publicKey(secretKey) {
        return call('su_public_key', [secretKey]);
      },
      /** The short fingerprint of a public key (`7K2M 9QXR …`), for people to compare. */
      fingerprint(publicKey) {
        return decoder.decode(call('su_fingerprint', [publicKey]));
      },
      /** Argon2id over a handler's password: {kek, proof}. The console signs in with the
       * proof instead of the password (the server keeps only its hash); the key-encryption
       * key opens the handler's sealed secret key and never leaves the page. */
      passwordKeys(password, salt, cost) {
        const out = call('su_password_keys', [password, salt], [
          cost.memoryKib,
          cost.iterations,
          cost.parallelism,
        ]);
        return { kek: out.slice(0, 32), proof: out.slice(32, 64) };
      },

      // -- The reporter's mailbox in the browser ------------------------------------------------
      /** The mailbox proof of a case key (as typed): {proof, storedHash}. The proof signs in to
       * the mailbox without the case key; the server keeps only the hash. */
      mailboxProof(caseKey) {
        const out = call('su_mailbox_proof', [caseKey]);
        return { proof: out.slice(0, 32), storedHash: out.slice(32, 64) };
      },

      // --- Handler console (issue 14) ---------------------------------------------------------
      /** A procedure step's letter and detail, written by the server's own code from the facts
       * the server answered and the handler's words (`name=value` fields joined by NUL):
       * {letter, detail}, or {missing} (in words) when the step needs words it was not given. */
      stepLetter(text) {
        const out = decoder.decode(call('su_step_letter', [text]));
        if (out.startsWith('M')) return { missing: out.slice(1) };
        const split = out.indexOf('\0');
        return { letter: out.slice(1, split), detail: out.slice(split + 1) };
      },

      /** Evidence files, one at a time, a slice at a time: `fileSealBegin` (case data key, case
       * id, file id), `fileSealPush(bytes)` → sealed bytes (cleaned of metadata first, as the
       * server cleans files), `fileSealFinish()` → {sealed, size (cleaned), removed, notRemoved}.
       * Throws code `file_damaged` for a file whose metadata cannot be removed safely. */
      fileSealBegin(key, caseId, fileId) {
        call('su_file_seal_begin', [key, caseId, fileId]);
      },
      fileSealPush(bytes) {
        return call('su_file_seal_push', [bytes]);
      },
      fileSealFinish() {
        const out = call('su_file_seal_finish', []);
        const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
        const size = Number(view.getBigUint64(0));
        const tailLength = view.getUint32(8);
        const sealed = out.slice(12, 12 + tailLength);
        const lines = decoder.decode(out.slice(12 + tailLength)).split('\n').filter(Boolean);
        return {
          sealed,
          size,
          removed: lines.filter((line) => line.startsWith('-')).map((line) => line.slice(1)),
          notRemoved: lines.filter((line) => line.startsWith('!')).map((line) => line.slice(1)),
        };
      },
      /** Opening a sealed file: `fileOpenBegin` (case data key, case id, file id),
       * `fileOpenPush(sealed bytes)` → plaintext, `fileOpenFinish()` → the last plaintext;
       * throws code `decrypt` if anything was altered or cut off. */
      fileOpenBegin(key, caseId, fileId) {
        call('su_file_open_begin', [key, caseId, fileId]);
      },
      fileOpenPush(bytes) {
        return call('su_file_open_push', [bytes]);
      },
      fileOpenFinish() {
        return call('su_file_open_finish', []);
      },
      /** After `fileSealBegin`: cleans and seals a File (or Blob) a megabyte at a time, so a
       * large file is never held whole in plaintext; answers the sealed stream as a Blob, the
       * cleaned size, and what was removed or could not be. Pages only. */
      async fileSealToBlob(file) {
        const slice = 1024 * 1024;
        const parts = [];
        for (let at = 0; at < file.size; at += slice) {
          const bytes = new Uint8Array(await file.slice(at, at + slice).arrayBuffer());
          parts.push(this.fileSealPush(bytes));
          bytes.fill(0);
        }
        const end = this.fileSealFinish();
        parts.push(end.sealed);
        return {
          blob: new Blob(parts, { type: 'application/octet-stream' }),
          size: end.size,
          removed: end.removed,
          notRemoved: end.notRemoved,
        };
      },
      /** After `fileOpenBegin`: opens a sealed file as it arrives (a fetch Response, read as a
       * stream) and offers the plaintext to the browser as a download named `name`. Pages
       * only; throws as `fileOpenPush` and `fileOpenFinish` do. */
      async fileOpenToDownload(response, name) {
        const parts = [];
        const reader = response.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(this.fileOpenPush(value));
        }
        parts.push(this.fileOpenFinish());
        const url = URL.createObjectURL(new Blob(parts, { type: 'application/octet-stream' }));
        const link = document.createElement('a');
        link.href = url;
        link.download = name;
        link.hidden = true;
        document.body.append(link);
        link.click();
        link.remove();
        // The download has its own copy by now; the object URL goes once it surely started.
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      },
      /** A file name as the server keeps it (no path or control characters, at most 120). */
      fileName(name) {
        return decoder.decode(call('su_file_name', [name]));
      },
    };
  }

  /** Instantiates the module from its bytes (Node, tests) and answers the API. */
  async function instantiate(bytes) {
    let memory = null;
    const imports = {
      speakup: {
        // getrandom's custom backend in the module calls this for every random byte.
        random_fill(ptr, len) {
          try {
            for (let at = 0; at < len; at += 65536) {
              const chunk = Math.min(65536, len - at);
              root.crypto.getRandomValues(new Uint8Array(memory.buffer, ptr + at, chunk));
            }
            return 0;
          } catch (_) {
            return 1;
          }
        },
      },
    };
    const { instance } = await WebAssembly.instantiate(bytes, imports);
    memory = instance.exports.memory;
    return bind(instance.exports);
  }

  /** Fetches the module with Subresource Integrity, then instantiates it. */
  async function load(url, integrity) {
    const response = await fetch(url, { integrity, credentials: 'same-origin' });
    if (!response.ok) throw new Error(`could not load ${url}: ${response.status}`);
    return instantiate(await response.arrayBuffer());
  }

  const api = { instantiate, load, SpeakupCryptoError };
  const script = root.document && root.document.currentScript;
  if (script && script.dataset.module) {
    api.ready = load(script.dataset.module, script.dataset.moduleIntegrity);
  }
  root.SpeakupCrypto = api;
  if (typeof module === 'object' && module.exports) module.exports = api;
})(globalThis);
