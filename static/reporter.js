// reporter.js: sealing a concern in the reporter's browser (issue 14). Runs on the concern form
// after speakup.js; without JavaScript the form posts to the server as before, which seals it
// on arrival, and the page says so.
//
// With the module loaded, this script: fetches the intake contacts' public keys and shows each
// key's fingerprint next to the contact; on "send", makes the case key here, seals the concern
// and the identity, wraps their keys to the ticked contacts (and the organisation's recovery
// key), and posts only ciphertext, the lookup id and the reporter's public key to
// /api/v1/concerns/sealed. The case key is shown on this page and never leaves the browser.
(function () {
  'use strict';

  const MAX_CONCERN_CHARS = 20000;
  const form = document.querySelector('form[action="/concerns/check"]');
  const mode = document.getElementById('encryption-mode');
  if (!form || !mode || !window.SpeakupCrypto || !window.SpeakupCrypto.ready) return;

  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  const unhex = (text) => new Uint8Array(text.match(/../g).map((pair) => parseInt(pair, 16)));
  function base64(bytes) {
    let binary = '';
    for (let at = 0; at < bytes.length; at += 8192) {
      binary += String.fromCharCode.apply(null, bytes.subarray(at, at + 8192));
    }
    return btoa(binary);
  }
  function randomId() {
    return hex(crypto.getRandomValues(new Uint8Array(16)));
  }
  function element(name, attributes, text) {
    const node = document.createElement(name);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const field = (name) => form.elements.namedItem(name);
  const value = (name) => {
    const input = field(name);
    return input ? String(input.value || '').trim() : '';
  };

  const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

  // "1 October 2026", "1 Oct 2026", "1/10/2026", "01-10-2026", "1.10.2026" or "2026-10-01";
  // null if empty; throws if unreadable.
  function isoDate(text) {
    if (!text) return null;
    let day;
    let month;
    let year;
    let match = text.match(/^(\d{4})-(\d{1,2})-(\d{1,2})$/);
    if (match) [, year, month, day] = match;
    else if ((match = text.match(/^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/))) [, day, month, year] = match;
    else if ((match = text.match(/^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\s+(\d{4})$/))) {
      const index = MONTHS.indexOf(match[2].slice(0, 3).toLowerCase());
      if (index < 0) throw new Error('dates');
      [day, month, year] = [match[1], String(index + 1), match[3]];
    } else throw new Error('dates');
    const date = new Date(Date.UTC(+year, +month - 1, +day));
    if (date.getUTCDate() !== +day || date.getUTCMonth() !== +month - 1) throw new Error('dates');
    return date.toISOString().slice(0, 10);
  }

  function problems(keys) {
    const found = [];
    const service = value('service') || (form.querySelector('input[name="service"]:checked') || {}).value;
    const anonymity = (form.querySelector('input[name="anonymity"]:checked') || {}).value;
    if (!service) found.push(['service-nhs', 'Choose the kind of service your concern is about.']);
    if (!anonymity) found.push(['anonymity-confidential', 'Choose whether to tell us who you are.']);
    const concern = value('concern');
    if (!concern) found.push(['concern', 'Write down your concern before sending it.']);
    if ([...concern].length > MAX_CONCERN_CHARS) {
      found.push(['concern', 'A concern can be at most 20,000 characters; send the rest as a message afterwards.']);
    }
    if (anonymity === 'confidential' && (!value('name') || !value('contact'))) {
      found.push(['name', 'A confidential concern needs your name and a way to contact you.']);
    }
    if (anonymity === 'anonymous' && (value('name') || value('contact'))) {
      found.push(['name', 'An anonymous concern cannot include your name; choose confidential instead, or empty these boxes.']);
    }
    try {
      isoDate(value('became_aware_on'));
    } catch (_) {
      found.push(['became_aware_on', 'Write the date like 1 October 2026 or 1/10/2026, or leave it empty.']);
    }
    const readers = keys.contacts.filter((c) => field(`reader_${c.id}`) && field(`reader_${c.id}`).checked);
    if (readers.length === 0) found.push([`reader-${keys.contacts[0].id}`, 'At least one person must be able to read your concern.']);
    return { found, service, anonymity, concern, readers };
  }

  function showProblems(found) {
    let summary = document.getElementById('sealing-problems');
    if (summary) summary.remove();
    summary = element('div', { id: 'sealing-problems', class: 'error-summary', role: 'alert', tabindex: '-1' });
    summary.append(element('h2', {}, 'There is a problem'));
    const list = element('ul');
    for (const [id, message] of found) {
      const item = element('li');
      item.append(element('a', { href: `#${id}` }, message));
      list.append(item);
    }
    summary.append(list);
    form.before(summary);
    summary.focus();
  }

  function seal(api, keys, checked) {
    const caseKey = api.caseKeyGenerate();
    const derived = api.caseKeyDerive(caseKey);
    const caseId = randomId();
    const caseDataKey = api.dataKeyGenerate();
    const identityKey = api.dataKeyGenerate();
    const excluded = keys.contacts.filter((c) => !checked.readers.includes(c)).map((c) => c.id);
    const record = (kind, recordId, position) => ({
      scope: caseId,
      kind,
      record: recordId,
      provenance: { author: 'reporter', position, writtenOn: keys.today },
    });
    const wraps = [{ recipient: 'reporter', kind: 'case', wrapped: base64(api.wrap(caseDataKey, derived.reporterPublic, caseId, 'case')) }];
    const confidential = checked.anonymity === 'confidential';
    for (const reader of checked.readers) {
      const to = unhex(reader.public_key);
      wraps.push({ recipient: reader.id, kind: 'case', wrapped: base64(api.wrap(caseDataKey, to, caseId, 'case')) });
      if (confidential) {
        wraps.push({ recipient: reader.id, kind: 'identity', wrapped: base64(api.wrap(identityKey, to, caseId, 'identity')) });
      }
    }
    if (keys.recovery_public_key) {
      const to = unhex(keys.recovery_public_key);
      wraps.push({ recipient: 'recovery', kind: 'case', wrapped: base64(api.wrap(caseDataKey, to, caseId, 'case')) });
    }
    const concernRecord = randomId();
    const body = {
      organisation: keys.organisation,
      service: checked.service,
      anonymity: checked.anonymity,
      topic: field('public_money') && field('public_money').checked ? 'public_money' : 'general',
      exclude: excluded,
      case_id: caseId,
      received_on: keys.today,
      lookup_id: hex(derived.lookupId),
      reporter_public_key: hex(derived.reporterPublic),
      // Lets this browser (or another) open the mailbox later without sending the case key.
      mailbox_proof_hash: hex(api.mailboxProof(caseKey).storedHash),
      concern: {
        record_id: concernRecord,
        sealed: base64(api.seal(caseDataKey, record('concern', concernRecord, 1), JSON.stringify({ text: checked.concern, excluded }))),
      },
      wraps,
    };
    const aware = isoDate(value('became_aware_on'));
    if (aware) body.became_aware_on = aware;
    if (confidential) {
      const identityRecord = randomId();
      body.identity = {
        record_id: identityRecord,
        sealed: base64(api.seal(identityKey, record('identity', identityRecord, 2), JSON.stringify({ name: value('name'), contact: value('contact') }))),
      };
    }
    caseDataKey.fill(0);
    identityKey.fill(0);
    return { caseKey, body };
  }

  function showKey(caseKey, reference) {
    const main = document.getElementById('main');
    main.replaceChildren();
    const heading = element('h1', { tabindex: '-1' }, 'Your concern has been sent');
    main.append(heading);
    main.append(element('p', { class: 'lead' }, 'It was encrypted in this browser before it was sent. Only the people you left ticked can read it.'));
    main.append(element('h2', {}, 'Your case key'));
    main.append(element('p', {}, 'Write it down now and keep it safe. It is the only way back into your mailbox, where the answer will come. Nobody can show it to you again, not even us: it was made in this browser and was never sent.'));
    const key = element('p', { class: 'case-key' });
    caseKey.split('-').forEach((group, index) => {
      if (index > 0) key.append('-');
      key.append(element('span', { class: 'key-group' }, group));
    });
    main.append(key);
    main.append(element('p', { class: 'reference' }, `Reference: ${reference}`));
    main.append(element('p', {}, 'You can mention the reference if you phone us; it does not open your mailbox.'));
    const next = element('p');
    next.append(element('a', { href: '/mailbox' }, 'Go to your mailbox'));
    main.append(next);
    heading.focus();
  }

  SpeakupCrypto.ready
    .then(async (api) => {
      const slug = value('organisation');
      const response = await fetch(`/api/v1/organisations/${encodeURIComponent(slug)}/intake-keys`, { credentials: 'same-origin' });
      if (!response.ok) throw new Error('no keys');
      const keys = await response.json();
      if (!keys.contacts.length) throw new Error('no contacts');
      for (const contact of keys.contacts) {
        const label = document.querySelector(`label[for="reader-${contact.id}"]`);
        if (label) {
          label.append(' ');
          label.append(element('span', { class: 'fingerprint' }, `(key ${api.fingerprint(unhex(contact.public_key))})`));
        }
      }
      mode.replaceChildren(
        element('p', {}, 'How your concern is protected: this page encrypts your concern and your name in this browser, for the people ticked below only (the fingerprint of each person\'s key is shown next to their name). Our server never sees what you write, and your case key is made here and never sent.'),
      );
      mode.dataset.mode = 'browser';
      const button = form.querySelector('button[type="submit"]');
      button.textContent = 'Encrypt and send my concern';

      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const checked = problems(keys);
        if (checked.found.length) {
          showProblems(checked.found);
          return;
        }
        button.disabled = true;
        try {
          const { caseKey, body } = seal(api, keys, checked);
          const sent = await fetch('/api/v1/concerns/sealed', {
            method: 'POST',
            credentials: 'same-origin',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          const answer = await sent.json();
          if (!sent.ok) {
            showProblems([['concern', answer.error ? `${answer.error.message}.` : 'The concern could not be sent. Please try again.']]);
            return;
          }
          showKey(caseKey, answer.reference);
        } catch (_) {
          showProblems([['concern', 'The concern could not be sent. Please check your connection and try again.']]);
        } finally {
          button.disabled = false;
        }
      });
    })
    .catch(() => {
      // The module or the keys did not load: the form keeps working the server way, and the
      // page keeps saying so.
    });
})();
