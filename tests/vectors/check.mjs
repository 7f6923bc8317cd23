// Checks tests/vectors/crypto.json (written by the native build) against the WebAssembly build
// through static/speakup.js. One self-contained function, so the browser suite can run the very
// same code inside Chromium (it is passed to the page as source).
//
// `api` is what SpeakupCrypto.instantiate / SpeakupCrypto.ready answers. Returns the number of
// checks and a list of failures (empty when everything matches).
export function checkVectors(api, vectors) {
  const failures = [];
  let checks = 0;
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const unhex = (text) => new Uint8Array(text.match(/../g).map((pair) => parseInt(pair, 16)));
  const expect = (condition, message) => {
    checks += 1;
    if (!condition) failures.push(message);
  };
  const failsWith = (code, run, message) => {
    try {
      run();
      expect(false, `${message}: no error`);
    } catch (error) {
      expect(error.code === code, `${message}: ${error.code || error}`);
    }
  };

  for (const [i, v] of vectors.case_key.entries()) {
    const derived = api.caseKeyDerive(v.typed);
    expect(derived.display === v.display, `case_key[${i}] display`);
    expect(hex(derived.lookupId) === v.lookup_id, `case_key[${i}] lookup id`);
    expect(hex(derived.reporterPublic) === v.reporter_public, `case_key[${i}] reporter public key`);
    // One symbol changed is always caught as a typo (the key generator guarantees it).
    const last = v.display.at(-1) === '0' ? '1' : '0';
    failsWith('case_key_typo', () => api.caseKeyDerive(v.display.slice(0, -1) + last), `case_key[${i}] typo`);
  }
  const fresh = api.caseKeyGenerate();
  expect(api.caseKeyDerive(fresh).display === fresh, 'a generated case key parses back');

  for (const [i, v] of vectors.seal.entries()) {
    const key = unhex(v.key);
    expect(api.openText(key, v.aad, unhex(v.sealed)) === v.plaintext, `seal[${i}] opens`);
    const sealed = api.seal(key, v.aad, v.plaintext);
    expect(sealed.length === unhex(v.sealed).length, `seal[${i}] length`);
    expect(hex(sealed) !== v.sealed, `seal[${i}] fresh nonce`);
    expect(api.openText(key, v.aad, sealed) === v.plaintext, `seal[${i}] round trip`);
    failsWith('decrypt', () => api.open(key, { ...v.aad, record: `${v.aad.record}-moved` }, unhex(v.sealed)), `seal[${i}] other record`);
    const tampered = unhex(v.sealed);
    tampered[30] ^= 1;
    failsWith('decrypt', () => api.open(key, v.aad, tampered), `seal[${i}] tampered`);
  }

  for (const [i, v] of vectors.wrap.entries()) {
    const secret = unhex(v.secret);
    expect(hex(api.publicKey(secret)) === v.public, `wrap[${i}] public key`);
    expect(api.fingerprint(unhex(v.public)) === v.fingerprint, `wrap[${i}] fingerprint`);
    expect(hex(api.unwrap(secret, unhex(v.wrapped), v.case_id, v.kind)) === v.data_key, `wrap[${i}] unwraps`);
    const again = api.wrap(unhex(v.data_key), unhex(v.public), v.case_id, v.kind);
    expect(hex(api.unwrap(secret, again, v.case_id, v.kind)) === v.data_key, `wrap[${i}] round trip`);
    const otherKind = v.kind === 'case' ? 'identity' : 'case';
    failsWith('decrypt', () => api.unwrap(secret, unhex(v.wrapped), v.case_id, otherKind), `wrap[${i}] other kind`);
  }

  for (const [i, v] of vectors.reporter_wrap.entries()) {
    expect(
      hex(api.unwrapWithCaseKey(v.case_key, unhex(v.wrapped), v.case_id, v.kind)) === v.data_key,
      `reporter_wrap[${i}] unwraps with the case key`,
    );
    failsWith('decrypt', () => api.unwrapWithCaseKey(v.case_key, unhex(v.wrapped), `${v.case_id}x`, v.kind), `reporter_wrap[${i}] other case`);
  }

  for (const [i, v] of vectors.password.entries()) {
    const keys = api.passwordKeys(v.password, unhex(v.salt), v.cost);
    expect(hex(keys.kek) === v.kek, `password[${i}] key-encryption key`);
    expect(hex(keys.proof) === v.proof, `password[${i}] login proof`);
  }
  failsWith('input', () => api.passwordKeys('pw', new Uint8Array(16), { memoryKib: 1024, iterations: 1, parallelism: 1 }), 'a weak Argon2 cost is refused');
  // -- The reporter's mailbox in the browser ----------------------------------------------------
  for (const [i, v] of vectors.case_key.entries()) {
    const { proof, storedHash } = api.mailboxProof(v.typed);
    expect(hex(proof) === v.mailbox_proof, `case_key[${i}] mailbox proof`);
    expect(hex(storedHash) === v.mailbox_proof_hash, `case_key[${i}] mailbox proof hash`);
  }
  failsWith('case_key_malformed', () => api.mailboxProof('not a key'), 'a mailbox proof needs a case key');

  // -- Procedure steps written in the browser (the handler console) --------------------------
  for (const [i, v] of vectors.step.entries()) {
    const written = api.stepLetter(v.text);
    expect(written.letter === v.letter, `step[${i}] letter`);
    expect(written.detail === v.detail, `step[${i}] detail`);
  }
  const extend = vectors.step.find((v) => v.text.startsWith('type=extend'));
  const noReason = extend.text.replace(/reason=[^\0]*/, 'reason=');
  expect(api.stepLetter(noReason).missing === 'the reason for the extension', 'a step without the words it needs says which');
  failsWith('input', () => api.stepLetter('type=received'), 'malformed step text is refused');

  // -- Evidence files sealed and opened in the browser (the handler console) -----------------
  const pattern = (length) => Uint8Array.from({ length }, (_, i) => (i * 7) % 251);
  const sameBytes = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i]);
  const openAll = (key, caseId, fileId, sealed, step) => {
    api.fileOpenBegin(key, caseId, fileId);
    const parts = [];
    for (let at = 0; at < sealed.length; at += step) parts.push(api.fileOpenPush(sealed.subarray(at, at + step)));
    parts.push(api.fileOpenFinish());
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  };
  const sealAll = (key, caseId, fileId, plain, step) => {
    api.fileSealBegin(key, caseId, fileId);
    const parts = [];
    for (let at = 0; at < plain.length; at += step) parts.push(api.fileSealPush(plain.subarray(at, at + step)));
    const end = api.fileSealFinish();
    parts.push(end.sealed);
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return { sealed: out, end };
  };
  for (const [i, v] of vectors.file.entries()) {
    const opened = openAll(unhex(v.key), v.case_id, v.file_id, unhex(v.sealed), 7);
    expect(sameBytes(opened, pattern(v.length)), `file[${i}] opens`);
    failsWith('decrypt', () => openAll(unhex(v.key), v.case_id, `${v.file_id}x`, unhex(v.sealed), 64), `file[${i}] other file`);
  }
  const big = pattern(200_000);
  const fileKey = unhex(vectors.file[0].key);
  const round = sealAll(fileKey, 'case-files', 'file-big', big, 50_000);
  expect(round.end.size === big.length, 'a file of unknown type keeps its size');
  expect(round.sealed.length === 23 + big.length + 16 * 4, 'a sealed file has the size the format gives');
  expect(sameBytes(openAll(fileKey, 'case-files', 'file-big', round.sealed, 65_552), big), 'a large file round trip across chunks');
  failsWith('decrypt', () => openAll(fileKey, 'case-files', 'file-big', round.sealed.subarray(0, 23 + 65_552), 1000), 'a file cut at a chunk boundary does not open');
  const photo = sealAll(fileKey, 'case-files', 'photo', unhex(vectors.photo.original), 100);
  expect(hex(openAll(fileKey, 'case-files', 'photo', photo.sealed, 100)) === vectors.photo.stripped, 'the photo is cleaned exactly as the server cleans it');
  expect(JSON.stringify(photo.end.removed) === JSON.stringify(vectors.photo.removed), 'what was removed from the photo, as the server says it');
  expect(JSON.stringify(photo.end.notRemoved) === JSON.stringify(vectors.photo.not_removed), 'what stays in the photo, as the server says it');
  for (const [i, v] of vectors.file_name.entries()) expect(api.fileName(v.name) === v.kept, `file_name[${i}]`);
  failsWith('order', () => api.fileSealPush(new Uint8Array(3)), 'a file slice before a file was begun is refused');

  return { checks, failures };
}
