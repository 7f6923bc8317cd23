// console.js: the handler console's side of issue 14 ("the browser seals and opens"). Runs
// after speakup.js on console pages that load it; without JavaScript the console works as
// before (the password goes to the server, which opens cases while the handler is signed in).
//
// Sign-in without sending the password (a tick box this script adds to the form, ticked by
// default; unticking it signs in the usual way): the
// browser asks /console/sign-in/parameters for the account's salt and Argon2id cost, runs
// Argon2id (64 MiB) in the module, and posts the second half of the output (the login proof)
// with the e-mail address and the 6-digit code to /console/sign-in/proof. The first half (the
// key-encryption key) never leaves the page: it opens the handler's secret key, which the
// server answers sealed, and is then wiped. The secret key is kept in sessionStorage only (this
// tab, until it is closed or the handler signs out) for the pages that open cases in the
// browser. Such a session holds no key on the server: case pages carry empty slots, which this
// script fills from GET /console/cases/{ref}/sealed (opened here), and replies and notes are
// sealed here and posted to POST /console/cases/{ref}/sealed. Procedure steps: the letter is
// written here by the module (the server's own letter code) from the facts the server answers
// and the handler's words, sealed here, and sent as ciphertext (POST …/sealed/events/facts,
// POST …/sealed/events). Grants: the server answers the new holder's public key, the case key is
// wrapped here (POST …/sealed/grants/recipient, POST …/sealed/grants). Evidence files: cleaned
// and sealed here, opened here (POST …/sealed/attachments, GET …/sealed/attachments/{id}).
// A case raised before the organisation's recovery key: the case key is wrapped here for that
// key (POST …/sealed/recovery-wrap), as a server session does when it opens such a case.
// The no-JavaScript forms of these need the key on the server and answer 409.
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

  // A form post from the page, as the forms do (same cookie, CSRF token in the body); the answer
  // as JSON when there is one.
  async function postForm(url, fields) {
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (_) {
      answer = null;
    }
    return { response, answer };
  }

  function problemOf(result, fallback) {
    const problem = result.answer && result.answer.error;
    return (problem && problem.message) || `${fallback} (${result.response.status})`;
  }

  const signInForm = document.querySelector('form[action="/console/sign-in"]');
  const caseSlots = document.querySelectorAll('[data-sealed-slot]');
  const browserCase = document.querySelector('[data-browser-case]');
  if (signInForm) signIn(signInForm);
  else if (browserCase) caseInBrowser(browserCase.dataset.browserCase);

  // ---------------------------------------------------------------------------------------
  // Signing in

  function signIn(form) {
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
  // Ticked by default wherever this script runs: the browser keeps the key. Without JavaScript
  // there is no box and the password goes to the server, as it always did.
  const box = element('input', { type: 'checkbox', id: 'keys-in-browser', name: 'keys_in_browser' });
  box.checked = true;
  const label = element(
    'label',
    { for: 'keys-in-browser' },
    'Sign in without sending my password to the server',
  );
  const hint = element(
    'p',
    { class: 'hint', id: 'keys-in-browser-hint' },
    'Your password is turned into your key here, in this browser, and the key stays in this ' +
      'tab: cases are opened, replies, notes, procedure letters and files sealed, and access ' +
      'given here, so the server never sees them. It needs JavaScript on every console page, and ' +
      'the key stays in this tab only. Untick this to sign in the usual way: your password then ' +
      'goes to the server, which opens cases for you while you are signed in.',
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
      const params = await postForm('/console/sign-in/parameters', { csrf, email });
      if (!params.response.ok || !params.answer) throw new Error('parameters');
      keys = api.passwordKeys(field('password').value, unbase64(params.answer.salt), {
        memoryKib: params.answer.cost.memory_kib,
        iterations: params.answer.cost.iterations,
        parallelism: params.answer.cost.parallelism,
      });
      const signed = await postForm('/console/sign-in/proof', {
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
  }

  // ---------------------------------------------------------------------------------------
  // A case, for a session whose key is in this browser

  const MAX_MESSAGE_CHARS = 10000;

  function randomId() {
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function storedKey() {
    try {
      const kept = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
      return kept && kept.user && kept.key ? kept : null;
    } catch (_) {
      return null;
    }
  }

  function say(slot, text) {
    slot.replaceChildren(element('p', { class: 'hint' }, text));
  }

  function aadOf(caseId, record) {
    const aad = { scope: caseId, kind: record.kind, record: record.id };
    if (record.aad_version === 2) {
      aad.provenance = {
        author: record.author,
        authorUserId: record.author_user_id || '',
        eventId: record.event_id || '',
        position: record.position,
        writtenOn: record.written_on,
      };
    }
    return aad;
  }

  function messageNode(className, who, iso, day, body) {
    const node = element('div', { class: `message ${className}` });
    const meta = element('p', { class: 'meta' }, `${who}, `);
    meta.append(element('time', { datetime: iso }, day));
    node.append(meta, element('div', { class: 'body' }, body));
    return node;
  }

  async function fetchCase(reference) {
    const response = await fetch(`/console/cases/${encodeURIComponent(reference)}/sealed`, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    const answer = await response.json().catch(() => null);
    if (!response.ok || !answer) {
      const problem = answer && answer.error;
      throw new Error((problem && problem.message) || `the case did not load (${response.status})`);
    }
    return answer;
  }

  const NO_KEY =
    'Your key is not in this tab (it stays only in the tab you signed in with, until it is closed). Sign out and sign in again to open this case.';

  // Every part of a case page for a session whose key is in this browser: the content slots
  // (overview, conversation), the procedure step forms, and the access forms.
  async function caseInBrowser(reference) {
    const kept = storedKey();
    if (!kept) {
      for (const slot of caseSlots) say(slot, NO_KEY);
      return;
    }
    if (!window.SpeakupCrypto || !window.SpeakupCrypto.ready || !reference) return;
    const api = await window.SpeakupCrypto.ready;
    stepForms(api, reference, kept.user);
    grantForm(api, reference, kept.user);
    if (caseSlots.length || document.querySelector('li[data-event-id]')) {
      await openCase(api, caseSlots, reference, kept);
    }
  }

  async function openCase(api, slots, reference, kept) {
    const bySlot = {};
    for (const slot of slots) bySlot[slot.dataset.sealedSlot] = slot;
    let secret = null;
    let caseKey = null;
    let identityKey = null;
    let recoveryWrap = null;
    try {
      const data = await fetchCase(reference);
      secret = unbase64(kept.key);
      caseKey = api.unwrap(secret, unbase64(data.case_key_wrap), data.case_id, 'case');
      // A case raised before the organisation had its recovery key: wrapped for it here, as a
      // server session does when it opens the case (sent below, once the case is on screen).
      if (data.recovery_public_key) {
        recoveryWrap = base64(api.wrap(caseKey, unbase64(data.recovery_public_key), data.case_id, 'case'));
      }
      if (data.identity_key_wrap) {
        identityKey = api.unwrap(secret, unbase64(data.identity_key_wrap), data.case_id, 'identity');
      }
      const messages = [];
      const notes = [];
      const files = [];
      for (const record of data.records) {
        const key = record.kind === 'identity' ? identityKey : caseKey;
        if (!key) continue;
        const content = JSON.parse(api.openText(key, aadOf(data.case_id, record), unbase64(record.sealed)));
        if (record.kind === 'concern' && bySlot.concern) {
          bySlot.concern.replaceChildren(document.createTextNode(content.text));
        } else if (record.kind === 'identity' && bySlot.identity) {
          const list = element('dl', { class: 'summary' });
          list.append(
            element('dt', {}, 'Name'),
            element('dd', {}, content.name),
            element('dt', {}, 'Contact'),
            element('dd', {}, content.contact),
          );
          bySlot.identity.replaceChildren(
            list,
            element('p', { class: 'hint' }, 'The reporter agreed to share this only with the people they chose. Do not pass it on outside this portal.'),
          );
        } else if (record.kind === 'message') {
          messages.push(messageNode(record.class, record.who, record.written_on, record.day, content.body));
        } else if (record.kind === 'event-text') {
          messages.push(messageNode(record.class, record.who, record.written_on, record.day, content.letter));
          // The procedure timeline: who authorised an extension, and the handler's detail.
          const entry = record.event_id && document.querySelector(`li[data-event-id="${CSS.escape(record.event_id)}"]`);
          if (entry) {
            if (content.authorised_by) entry.append(element('p', {}, `Extension authorised by ${content.authorised_by} (internal).`));
            if (content.detail) entry.append(element('div', { class: 'detail' }, content.detail));
          }
        } else if (record.kind === 'note') {
          notes.push(messageNode('note', record.who, record.written_on, record.day, content.body));
        } else if (record.kind === 'attachment') {
          files.push({ record, content });
        }
      }
      if (bySlot.identity && !data.identity_key_wrap) bySlot.identity.replaceChildren();
      if (bySlot.messages) {
        if (messages.length) bySlot.messages.replaceChildren(...messages);
        else say(bySlot.messages, 'No messages yet.');
      }
      if (bySlot.notes) {
        if (notes.length) bySlot.notes.replaceChildren(...notes);
        else say(bySlot.notes, 'No notes yet.');
      }
      if (bySlot.evidence) {
        if (files.length) bySlot.evidence.replaceChildren(...fileTable(api, reference, data, files));
        else say(bySlot.evidence, 'No files yet.');
      }
      sealForms(api, reference, kept.user);
      fileForm(api, reference, kept.user);
    } catch (error) {
      for (const slot of slots) {
        say(slot, `This case could not be opened in this browser: ${error && error.message ? error.message : 'unexpected error'}.`);
      }
    } finally {
      for (const key of [secret, caseKey, identityKey]) if (key) key.fill(0);
    }
    if (recoveryWrap) await addRecoveryWrap(reference, recoveryWrap);
  }

  // Stores the recovery wrap made above. The server keeps it only while the case has none (a
  // reload or another tab changes nothing: 200), and audits it. If it does not arrive, the next
  // opening of the case makes it again, so a failure is not shown.
  async function addRecoveryWrap(reference, wrap) {
    const csrf = document.querySelector('form[action="/console/sign-out"] input[name="csrf"]');
    if (!csrf) return;
    try {
      await postForm(`/console/cases/${encodeURIComponent(reference)}/sealed/recovery-wrap`, { csrf: csrf.value, wrap });
    } catch (_) {
      // Offline or signed out meanwhile: made again next time.
    }
  }

  // Replies and notes are sealed here, at the position the server will give them; if
  // something else took it meanwhile the server answers 409 and this seals it again.
  function sealForms(api, reference, userId) {
    const base = `/console/cases/${encodeURIComponent(reference)}`;
    const forms = [
      [document.querySelector(`form[action="${base}/messages"]`), 'message', 'replied', 'conversation'],
      [document.querySelector(`form[action="${base}/notes"]`), 'note', 'noted', 'notes'],
    ];
    for (const [form, kind, done, part] of forms) {
      if (!form) continue;
      let busy = false;
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        if (busy) return;
        const textarea = form.querySelector('textarea');
        const body = textarea.value.trim();
        const problem = !body
          ? 'Write a message before sending it.'
          : body.length > MAX_MESSAGE_CHARS || body.includes('\0')
            ? `A message can be at most ${MAX_MESSAGE_CHARS} characters.`
            : null;
        if (problem) {
          showFormError(form, problem);
          return;
        }
        busy = true;
        const button = form.querySelector('button[type="submit"]');
        button.disabled = true;
        const csrf = form.elements.namedItem('csrf').value;
        let secret = null;
        let caseKey = null;
        try {
          const kept = storedKey();
          if (!kept) throw new Error('your key is not in this tab; sign out and sign in again');
          for (let attempt = 0; attempt < 5; attempt += 1) {
            const data = await fetchCase(reference);
            secret = unbase64(kept.key);
            caseKey = api.unwrap(secret, unbase64(data.case_key_wrap), data.case_id, 'case');
            const id = randomId();
            const aad = {
              scope: data.case_id,
              kind,
              record: id,
              provenance: { author: 'handler', authorUserId: userId, eventId: '', position: data.next_position, writtenOn: data.today },
            };
            const sealed = api.seal(caseKey, aad, JSON.stringify({ body }));
            caseKey.fill(0);
            secret.fill(0);
            const response = await fetch(`${base}/sealed`, {
              method: 'POST',
              credentials: 'same-origin',
              headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams({
                csrf,
                kind,
                id,
                position: String(data.next_position),
                written_on: data.today,
                sealed: base64(sealed),
              }),
            });
            if (response.status === 201) {
              window.location.assign(`${base}/${part}?done=${done}#${part}`);
              return;
            }
            const answer = await response.json().catch(() => null);
            const code = answer && answer.error && answer.error.code;
            if (response.status === 409 && (code === 'position_taken' || code === 'day_changed')) continue;
            throw new Error((answer && answer.error && answer.error.message) || `not saved (${response.status})`);
          }
          throw new Error('the case kept changing; please try again');
        } catch (error) {
          showFormError(form, `Not sent: ${error && error.message ? error.message : 'unexpected error'}.`);
        } finally {
          if (secret) secret.fill(0);
          if (caseKey) caseKey.fill(0);
          busy = false;
          button.disabled = false;
        }
      });
    }
  }

  // ---------------------------------------------------------------------------------------
  // Procedure steps: the letter is written here, by the server's own letter code compiled into
  // the module, from the facts the server answers (the step, the dates after it, your name)
  // and your words, which never leave this browser; it is sealed here and only ciphertext is
  // sent. The learning at closure is the exception the form names: it is kept, without the
  // case, for the organisation's learning reports.

  const STEP_FACTS = ['event_type', 'escalation', 'until', 'outcome', 'not_whistleblowing'];
  const STEP_WORDS = ['reason', 'authorised_by', 'findings', 'actions', 'learning', 'message', 'points'];

  function stepForms(api, reference, userId) {
    const base = `/console/cases/${encodeURIComponent(reference)}`;
    for (const form of document.querySelectorAll(`form[action="${base}/events"]`)) {
      let busy = false;
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        if (busy) return;
        busy = true;
        const button = form.querySelector('button[type="submit"]');
        button.disabled = true;
        try {
          const step = await writeStep(api, base, form);
          confirmStep(api, base, form, step, userId, false);
        } catch (error) {
          showFormError(form, error && error.message ? error.message : 'The step could not be written.');
        } finally {
          busy = false;
          button.disabled = false;
        }
      });
    }
  }

  function formValues(form) {
    const values = {};
    for (const [name, value] of new FormData(form)) values[name] = String(value);
    return values;
  }

  function factsOf(values) {
    const fields = { csrf: values.csrf };
    for (const name of STEP_FACTS) if (values[name]) fields[name] = values[name];
    return fields;
  }

  // Asks the server for the step's facts (it checks the step is allowed now), then writes the
  // letter here. Throws with the reason when the step cannot be written.
  async function writeStep(api, base, form) {
    const values = formValues(form);
    for (const name of STEP_WORDS) {
      const text = values[name] || '';
      if (text.length > MAX_MESSAGE_CHARS || text.includes('\0')) {
        throw new Error(`Each text can be at most ${MAX_MESSAGE_CHARS} characters.`);
      }
    }
    const checked = await postForm(`${base}/sealed/events/facts`, factsOf(values));
    if (!checked.response.ok || !checked.answer) throw new Error(problemOf(checked, 'The step was refused'));
    const text = [checked.answer.facts, ...STEP_WORDS.map((name) => `${name}=${values[name] || ''}`)].join('\0');
    const written = api.stepLetter(text);
    if (written.missing) {
      throw new Error(`${written.missing.charAt(0).toUpperCase()}${written.missing.slice(1)} is needed for this step.`);
    }
    return { values, facts: checked.answer, letter: written.letter, detail: written.detail };
  }

  // Asks once more, inside the page, before something that cannot be undone: a panel after
  // the form (which is hidden meanwhile) with a heading that takes the focus, what happens,
  // anything to check, and yes / go back. `act` runs on yes; it answers nothing when done,
  // or throws to put the form back with the reason.
  function confirmPanel(form, { heading, paragraphs, shown, yes, back, act }) {
    const section = form.closest('section') || form.parentNode;
    const old = section.querySelector('.step-confirmation');
    if (old) old.remove();
    const id = `${section.id || 'form'}-confirmation`;
    const panel = element('div', { class: 'step-confirmation notice warning', id, role: 'region', 'aria-labelledby': `${id}-heading` });
    const title = element('h4', { id: `${id}-heading`, tabindex: '-1' }, heading);
    const yesButton = element('button', { type: 'button', class: 'warning-button' }, yes);
    const backButton = element('button', { type: 'button', class: 'secondary' }, back);
    const actions = element('div', { class: 'actions' });
    actions.append(yesButton, backButton);
    panel.append(title, ...paragraphs.map(([text, attributes]) => element('p', attributes || {}, text)));
    if (shown) panel.append(shown);
    panel.append(actions);
    form.hidden = true;
    form.after(panel);
    title.focus();
    const restore = () => {
      panel.remove();
      form.hidden = false;
    };
    backButton.addEventListener('click', () => {
      restore();
      const first = form.querySelector('textarea, input:not([type="hidden"]), select, button');
      if (first) first.focus();
    });
    let busy = false;
    yesButton.addEventListener('click', async () => {
      if (busy) return;
      busy = true;
      yesButton.disabled = true;
      try {
        await act();
      } catch (error) {
        restore();
        showFormError(form, `Not done: ${error && error.message ? error.message : 'unexpected error'}.`);
      } finally {
        busy = false;
        yesButton.disabled = false;
      }
    });
  }

  // Shows the letter the reporter will read and asks once more, as the page without
  // JavaScript does; records it on "yes".
  function confirmStep(api, base, form, step, userId, changed) {
    const section = form.closest('section') || form.parentNode;
    const heading = section.querySelector('h4');
    const letter = element('div', { class: 'message from-handler letter' });
    letter.append(element('p', { class: 'meta' }, 'The letter the reporter will read'), element('div', { class: 'body' }, step.letter));
    confirmPanel(form, {
      heading: `Record this step: ${heading ? heading.textContent.trim() : 'this step'}?`,
      paragraphs: [
        [
          (changed ? 'The case changed while you were writing, so the letter was written again: check it. ' : '') +
            'Recording it writes this letter to the reporter, which they will read in their mailbox, and moves the case on. It cannot be undone.',
        ],
        ['Written and sealed in this browser: the server stores it without being able to read it.', { class: 'hint' }],
      ],
      shown: letter,
      yes: 'Yes, record it and write to the reporter',
      back: 'No, go back and change it',
      act: async () => {
        const outcome = await recordStep(api, base, form, step, userId);
        if (outcome.rewritten) {
          confirmStep(api, base, form, outcome.rewritten, userId, true);
          return;
        }
        window.location.assign(`${base}/procedure?done=recorded#procedure`);
      },
    });
  }

  // Seals the letter for the position the server gives next and sends it. If a message took
  // that position meanwhile it is sealed again; if the facts changed (another step, the day)
  // the letter is written again and shown again (`rewritten`).
  async function recordStep(api, base, form, step, userId) {
    const kept = storedKey();
    if (!kept) throw new Error('your key is not in this tab; sign out and sign in again');
    const reference = decodeURIComponent(base.split('/').pop());
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const data = await fetchCase(reference);
      let secret = null;
      let caseKey = null;
      let sealed = null;
      const eventId = randomId();
      const recordId = randomId();
      try {
        secret = unbase64(kept.key);
        caseKey = api.unwrap(secret, unbase64(data.case_key_wrap), data.case_id, 'case');
        const aad = {
          scope: data.case_id,
          kind: 'event-text',
          record: recordId,
          provenance: { author: 'system', authorUserId: userId, eventId, position: step.facts.position, writtenOn: step.facts.today },
        };
        sealed = api.seal(
          caseKey,
          aad,
          JSON.stringify({
            letter: step.letter,
            detail: step.detail,
            authorised_by: (step.values.authorised_by || '').trim(),
            not_whistleblowing: step.values.not_whistleblowing || null,
          }),
        );
      } finally {
        if (secret) secret.fill(0);
        if (caseKey) caseKey.fill(0);
      }
      const fields = factsOf(step.values);
      if (step.values.learning) fields.learning = step.values.learning;
      if (step.values.learning_publishable) fields.learning_publishable = step.values.learning_publishable;
      Object.assign(fields, {
        event_id: eventId,
        record_id: recordId,
        position: String(step.facts.position),
        written_on: step.facts.today,
        basis: step.facts.basis,
        sealed: base64(sealed),
      });
      const sent = await postForm(`${base}/sealed/events`, fields);
      if (sent.response.status === 201) return {};
      const code = sent.answer && sent.answer.error && sent.answer.error.code;
      if (sent.response.status !== 409 || !['position_taken', 'case_changed', 'day_changed'].includes(code)) {
        throw new Error(problemOf(sent, 'not recorded'));
      }
      const again = await writeStep(api, base, form);
      if (again.facts.basis !== step.facts.basis || again.letter !== step.letter) return { rewritten: again };
      step = again;
    }
    throw new Error('the case kept changing; please try again');
  }

  // ---------------------------------------------------------------------------------------
  // Giving someone access: the server checks who may hold the case and answers their public
  // key; the reporter's exclusions are sealed with the concern, so they are checked here; the
  // case key (and, when asked for, the identity key and the request's reason) are wrapped and
  // sealed here, and only the wraps are sent.

  function grantForm(api, reference, userId) {
    const base = `/console/cases/${encodeURIComponent(reference)}`;
    const form = document.querySelector(`form[action="${base}/grants"]`);
    if (!form) return;
    let busy = false;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      try {
        const values = formValues(form);
        const asked = { csrf: values.csrf, email: values.email || '' };
        if (values.identity) asked.identity = 'yes';
        const found = await postForm(`${base}/sealed/grants/recipient`, asked);
        if (!found.response.ok || !found.answer) throw new Error(problemOf(found, 'Access was not given'));
        const who = found.answer;
        const data = await fetchCase(reference);
        const excluded = excludedBy(api, data);
        if (excluded.includes(who.user_id)) {
          throw new Error(`The person who raised this concern asked that ${who.name} should not read it.`);
        }
        const key = element('p', {});
        key.append(`Their key's fingerprint: `, element('span', { class: 'fingerprint' }, who.fingerprint));
        confirmPanel(form, {
          heading: `Give ${who.name} (${who.role}) access to this case?`,
          paragraphs: [
            [
              'They will be able to read the whole case. The key that opens it is wrapped for them in this browser.' +
                (who.identity_request ? " The reporter is asked first whether they may know the reporter's identity." : ''),
            ],
            ["They can see their key's fingerprint on their account page: if it is not this one, do not go on, and tell your administrator.", { class: 'hint' }],
          ],
          shown: key,
          yes: 'Yes, give them access',
          back: 'No, go back',
          act: async () => {
            await sendGrant(api, base, reference, asked, who);
            window.location.assign(`${base}/access?done=granted#holders`);
          },
        });
      } catch (error) {
        showFormError(form, error && error.message ? error.message : 'Access was not given.');
      } finally {
        busy = false;
        button.disabled = false;
      }
    });
  }

  // The ids of the intake contacts the reporter left out, from the concern sealed in the case.
  function excludedBy(api, data) {
    const kept = storedKey();
    let secret = null;
    let caseKey = null;
    try {
      secret = unbase64(kept.key);
      caseKey = api.unwrap(secret, unbase64(data.case_key_wrap), data.case_id, 'case');
      const excluded = [];
      for (const record of data.records) {
        if (record.kind !== 'concern') continue;
        const concern = JSON.parse(api.openText(caseKey, aadOf(data.case_id, record), unbase64(record.sealed)));
        excluded.push(...(concern.excluded || []));
      }
      return excluded;
    } finally {
      if (secret) secret.fill(0);
      if (caseKey) caseKey.fill(0);
    }
  }

  async function sendGrant(api, base, reference, asked, who) {
    const kept = storedKey();
    if (!kept) throw new Error('your key is not in this tab; sign out and sign in again');
    const data = await fetchCase(reference);
    const fields = { ...asked };
    const recipient = unbase64(who.public_key);
    let secret = null;
    let caseKey = null;
    let identityKey = null;
    try {
      secret = unbase64(kept.key);
      caseKey = api.unwrap(secret, unbase64(data.case_key_wrap), data.case_id, 'case');
      if (who.case_wrap) fields.case_wrap = base64(api.wrap(caseKey, recipient, data.case_id, 'case'));
      if (who.identity_request) {
        if (!data.identity_key_wrap) throw new Error("you do not hold the reporter's identity");
        identityKey = api.unwrap(secret, unbase64(data.identity_key_wrap), data.case_id, 'identity');
        fields.identity_wrap = base64(api.wrap(identityKey, recipient, data.case_id, 'identity'));
        fields.request_id = randomId();
        fields.sealed_reason = base64(
          api.seal(caseKey, { scope: data.case_id, kind: 'identity-request', record: fields.request_id }, JSON.stringify({ body: '' })),
        );
      }
    } finally {
      for (const key of [secret, caseKey, identityKey]) if (key) key.fill(0);
    }
    const sent = await postForm(`${base}/sealed/grants`, fields);
    if (sent.response.status !== 201) throw new Error(problemOf(sent, 'access was not given'));
  }

  // ---------------------------------------------------------------------------------------
  // Evidence files: cleaned of metadata and sealed here (by the server's own code in the
  // module), uploaded sealed; downloaded sealed and opened here. The server never has the key.

  // "812 bytes", "4.2 KB", "17.0 MB", as the server's pages write sizes.
  function humanSize(bytes) {
    if (bytes < 1000) return `${bytes} bytes`;
    const units = ['KB', 'MB', 'GB'];
    let value = bytes / 1000;
    let unit = 0;
    while (value >= 1000 && unit + 1 < units.length) {
      value /= 1000;
      unit += 1;
    }
    return `${value.toFixed(1)} ${units[unit]}`;
  }

  function fileTable(api, reference, data, files) {
    const table = element('table');
    table.append(element('caption', {}, 'Files in this case'));
    const head = element('tr');
    for (const title of ['File', 'Size', 'From', 'Added', 'Hidden details removed']) head.append(element('th', { scope: 'col' }, title));
    const thead = element('thead');
    thead.append(head);
    table.append(thead);
    const body = element('tbody');
    for (const { record, content } of files) {
      const row = element('tr');
      const open = element('button', { type: 'button', class: 'file-button', 'data-file': record.id }, content.name);
      open.addEventListener('click', async () => {
        open.disabled = true;
        try {
          await downloadFile(api, reference, data, record, content);
        } catch (error) {
          const note = element('p', { class: 'error-message', role: 'alert' }, `${content.name} could not be opened: ${error && error.message ? error.message : 'unexpected error'}.`);
          table.before(note);
        } finally {
          open.disabled = false;
        }
      });
      const cell = element('td');
      cell.append(open);
      const removed = content.removed_metadata && content.removed_metadata.length ? content.removed_metadata.join('; ') : 'None found';
      row.append(
        cell,
        element('td', {}, humanSize(content.size)),
        element('td', {}, record.author === 'reporter' ? 'The reporter' : 'A handler'),
        element('td', {}, record.day),
        element('td', {}, removed),
      );
      body.append(row);
    }
    table.append(body);
    const scroll = element('div', { class: 'table-scroll', role: 'region', 'aria-label': 'Table (scrolls sideways on a small screen)', tabindex: '0' });
    scroll.append(table);
    return [
      scroll,
      element('p', {}, 'Files always download; they never open in the portal. They are opened in this browser. Open them with care: a file can carry harmful content whoever sent it.'),
    ];
  }

  async function downloadFile(api, reference, data, record, content) {
    const kept = storedKey();
    if (!kept) throw new Error('your key is not in this tab; sign out and sign in again');
    const response = await fetch(`/console/cases/${encodeURIComponent(reference)}/sealed/attachments/${encodeURIComponent(record.id)}`, {
      credentials: 'same-origin',
    });
    if (!response.ok) throw new Error(`the file did not load (${response.status})`);
    let secret = null;
    let caseKey = null;
    try {
      secret = unbase64(kept.key);
      caseKey = api.unwrap(secret, unbase64(data.case_key_wrap), data.case_id, 'case');
      api.fileOpenBegin(caseKey, data.case_id, record.id);
    } finally {
      if (secret) secret.fill(0);
      if (caseKey) caseKey.fill(0);
    }
    await api.fileOpenToDownload(response, content.name);
  }

  function fileForm(api, reference, userId) {
    const base = `/console/cases/${encodeURIComponent(reference)}`;
    const form = document.querySelector(`form[action="${base}/attachments"]`);
    if (!form) return;
    const most = Number(form.dataset.maxBytes || '0');
    const status = element('p', { class: 'hint', role: 'status' });
    form.append(status);
    let busy = false;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (busy) return;
      const input = form.querySelector('input[type="file"]');
      const file = input.files && input.files[0];
      if (!file) {
        showFormError(form, 'Choose a file to attach.');
        return;
      }
      if (most && file.size > most) {
        showFormError(form, `That file is larger than ${Math.floor(most / (1024 * 1024))} MiB, the most one attachment can be; send a smaller file, or split it into parts.`);
        return;
      }
      busy = true;
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      status.textContent = 'Removing hidden details and sealing the file in this browser…';
      try {
        await sendFile(api, base, reference, userId, form, file);
        window.location.assign(`${base}/conversation?done=attached#evidence`);
      } catch (error) {
        status.textContent = '';
        showFormError(form, `Not added: ${error && error.message ? error.message : 'unexpected error'}.`);
      } finally {
        busy = false;
        button.disabled = false;
      }
    });
  }

  async function sendFile(api, base, reference, userId, form, file) {
    const kept = storedKey();
    if (!kept) throw new Error('your key is not in this tab; sign out and sign in again');
    let data = await fetchCase(reference);
    const id = randomId();
    let secret = null;
    let caseKey = null;
    try {
      secret = unbase64(kept.key);
      caseKey = api.unwrap(secret, unbase64(data.case_key_wrap), data.case_id, 'case');
      api.fileSealBegin(caseKey, data.case_id, id);
    } finally {
      if (secret) secret.fill(0);
      if (caseKey) caseKey.fill(0);
    }
    const end = await api.fileSealToBlob(file);
    const sealedFile = end.blob;
    const description = JSON.stringify({ name: api.fileName(file.name), size: end.size, removed_metadata: end.removed });
    for (let attempt = 0; attempt < 5; attempt += 1) {
      if (attempt > 0) data = await fetchCase(reference);
      let record = null;
      try {
        secret = unbase64(kept.key);
        caseKey = api.unwrap(secret, unbase64(data.case_key_wrap), data.case_id, 'case');
        record = api.seal(
          caseKey,
          {
            scope: data.case_id,
            kind: 'attachment',
            record: id,
            provenance: { author: 'handler', authorUserId: userId, eventId: '', position: data.next_position, writtenOn: data.today },
          },
          description,
        );
      } finally {
        if (secret) secret.fill(0);
        if (caseKey) caseKey.fill(0);
      }
      const body = new FormData();
      body.append('csrf', form.elements.namedItem('csrf').value);
      body.append('id', id);
      body.append('position', String(data.next_position));
      body.append('written_on', data.today);
      body.append('record', base64(record));
      body.append('file', sealedFile, 'sealed');
      const response = await fetch(`${base}/sealed/attachments`, { method: 'POST', credentials: 'same-origin', body });
      if (response.status === 201) return;
      const answer = await response.json().catch(() => null);
      const code = answer && answer.error && answer.error.code;
      if (response.status === 409 && (code === 'position_taken' || code === 'day_changed')) continue;
      throw new Error((answer && answer.error && answer.error.message) || `not stored (${response.status})`);
    }
    throw new Error('the case kept changing; please try again');
  }

  function showFormError(form, message) {
    let note = form.querySelector('.error-message[data-sealing]');
    if (!note) {
      note = element('p', { class: 'error-message', role: 'alert', 'data-sealing': 'yes' });
      form.insertBefore(note, form.firstChild.nextSibling);
    }
    note.textContent = message;
  }
})();
