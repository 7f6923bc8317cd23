// console.js: the handler console's side of issue 14 ("the browser seals and opens"). Runs
// after speakup.js on console pages that load it; without JavaScript the console works as
// before (the password goes to the server, which opens cases while the handler is signed in).
//
// Sign-in without sending the password (opt-in, a tick box this script adds to the form): the
// browser asks /console/sign-in/parameters for the account's salt and Argon2id cost, runs
// Argon2id (64 MiB) in the module, and posts the second half of the output (the login proof)
// with the e-mail address and the 6-digit code to /console/sign-in/proof. The first half (the
// key-encryption key) never leaves the page: it opens the handler's secret key, which the
// server answers sealed, and is then wiped. The secret key is kept in sessionStorage only (this
// tab, until it is closed or the handler signs out) for the pages that open cases in the
// browser. Such a session holds no key on the server, so pages that open case content on the
// server say that they cannot.
(function () {
  'use strict';

  const STORAGE_KEY = 'speakup.console.handlerKey';

  function base64(bytes) {
    let binary = '';
    for (let at = 0; at < bytes.length; at += 8192) {
      binary += String.fromCharCode.apply(null, bytes.subarray(at, at + 8192));
    }
    return btoa(binary);
  }
  function unbase64(text) {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  }
  function element(name, attributes, text) {
    const node = document.createElement(name);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const form = document.querySelector('form[action="/console/sign-in"]');
  if (!form) return;
  // Reaching the sign-in page means signed out (or about to sign in again): forget any key.
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch (_) {
    // Storage refused (private mode settings): nothing was kept.
  }
  if (!window.SpeakupCrypto || !window.SpeakupCrypto.ready) return;

  const field = (name) => form.elements.namedItem(name);
  const button = form.querySelector('button[type="submit"]');

  // The opt-in, placed before the button.
  const choice = element('div', { class: 'field checkbox' });
  const box = element('input', { type: 'checkbox', id: 'keys-in-browser', name: 'keys_in_browser' });
  const label = element(
    'label',
    { for: 'keys-in-browser' },
    'Sign in without sending my password to the server',
  );
  const hint = element(
    'p',
    { class: 'hint', id: 'keys-in-browser-hint' },
    'Your password is turned into your key here, in this browser, and the key stays in this ' +
      'tab. The server then cannot open case content for you: case pages will ask you to sign ' +
      'in again without this box ticked to read a case.',
  );
  box.setAttribute('aria-describedby', 'keys-in-browser-hint');
  choice.append(box, label, hint);
  form.insertBefore(choice, button);

  const status = element('p', { class: 'hint', role: 'status', id: 'sign-in-status' });
  form.insertBefore(status, button.nextSibling);

  function showError(message) {
    let summary = document.getElementById('browser-sign-in-error');
    if (!summary) {
      summary = element('div', {
        class: 'error-summary',
        role: 'alert',
        id: 'browser-sign-in-error',
        tabindex: '-1',
        'aria-labelledby': 'browser-sign-in-error-title',
      });
      summary.append(
        element('h2', { id: 'browser-sign-in-error-title' }, 'There is a problem'),
        element('p'),
      );
      form.parentNode.insertBefore(summary, form);
    }
    summary.querySelector('p').textContent = message;
    summary.focus();
  }

  async function post(url, fields) {
    const body = new URLSearchParams(fields);
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (_) {
      answer = null;
    }
    return { response, answer };
  }

  let busy = false;
  form.addEventListener('submit', async (event) => {
    if (!box.checked) return; // the password goes to the server, as without JavaScript
    event.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    status.textContent = 'Signing in: working out your key in this browser…';
    const csrf = field('csrf').value;
    const email = field('email').value;
    const code = field('code').value.trim();
    let keys = null;
    let secret = null;
    try {
      const api = await window.SpeakupCrypto.ready;
      const params = await post('/console/sign-in/parameters', { csrf, email });
      if (!params.response.ok || !params.answer) throw new Error('parameters');
      keys = api.loginKeys(field('password').value, unbase64(params.answer.salt), {
        memoryKib: params.answer.cost.memory_kib,
        iterations: params.answer.cost.iterations,
        parallelism: params.answer.cost.parallelism,
      });
      const signed = await post('/console/sign-in/proof', {
        csrf,
        email,
        proof: base64(keys.proof),
        code,
      });
      if (!signed.response.ok) {
        const problem = signed.answer && signed.answer.error;
        if (problem && problem.code === 'password_sign_in_needed') {
          // An account set up before this existed: one sign-in with the password moves it on.
          box.checked = false;
          form.submit();
          return;
        }
        showError(
          (problem && problem.message) || 'Signing in did not work. Please try again.',
        );
        status.textContent = '';
        return;
      }
      const userId = signed.answer.user_id;
      secret = api.open(
        keys.kek,
        { scope: userId, kind: 'handler-secret', record: userId },
        unbase64(signed.answer.sealed_secret),
      );
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ user: userId, key: base64(secret) }));
      field('password').value = '';
      window.location.assign('/console');
    } catch (error) {
      showError(
        'Signing in in this browser did not work (' +
          (error && error.message ? error.message : 'unexpected error') +
          '). Untick the box to sign in the usual way.',
      );
      status.textContent = '';
    } finally {
      if (keys) {
        keys.kek.fill(0);
        keys.proof.fill(0);
      }
      if (secret) secret.fill(0);
      busy = false;
      button.disabled = false;
    }
  });
})();
