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

  return { checks, failures };
}
