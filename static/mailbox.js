// mailbox.js: the reporter's mailbox opened in the browser (issue 14). Runs after speakup.js on
// the mailbox sign-in form and on /mailbox/browser. Without JavaScript both keep working the
// server's way: the sign-in form posts the case key and the server opens the mailbox.
//
// Sign-in: the case key is checked and turned into its lookup id and mailbox proof inside the
// crypto module; only those two go to POST /api/v1/mailbox/session. The session token and the
// case key are kept in this tab's sessionStorage (gone when the tab closes) so the mailbox page
// can use them; they are never sent anywhere but the token to this server.
//
// Mailbox: GET /api/v1/mailbox/sealed gives the stage and dates (not secret), the reporter's
// wrap of the case data key and the sealed messages and letters. The case data key is
// unwrapped here with the secret the module derives from the case key, every record is opened
// here with the associated data it was sealed with, and a reply is sealed here for the position
// the server will give it (if another message takes that position first the server answers 409
// and the reply is sealed again).
//
// Files: the sealed mailbox lists each file's description sealed as a record; a file is cleaned
// of hidden details (the server's own stripping code, in the module) and sealed here a slice at
// a time under the case data key, its description sealed for the next position, and only
// ciphertext goes to POST /api/v1/mailbox/sealed/attachments. A file is fetched sealed from
// GET /api/v1/mailbox/sealed/attachments/{id}, opened here and offered as a download.
//
// Requests to share the reporter's name: listed with who would learn it (in the clear, so the
// reporter can decide) and the reason sealed under the case data key, opened here; the answer
// goes to POST /api/v1/mailbox/identity-requests/{id}, which needs no key.
(function () {
  'use strict';

  const STORE = 'speakup-mailbox';
  const MAX_MESSAGE_CHARS = 10000;
  if (!window.SpeakupCrypto || !window.SpeakupCrypto.ready) return;

  const encoder = new TextEncoder();
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  function base64(bytes) {
    let binary = '';
    for (let at = 0; at < bytes.length; at += 8192) {
      binary += String.fromCharCode.apply(null, bytes.subarray(at, at + 8192));
    }
    return btoa(binary);
  }
  function unbase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }
  function element(name, attributes, text) {
    const node = document.createElement(name);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function longDate(iso) {
    // As the server writes dates: "Friday 4 December 2026".
    const date = new Date(`${iso}T00:00:00Z`);
    const part = (options) => date.toLocaleDateString('en-GB', { ...options, timeZone: 'UTC' });
    return `${part({ weekday: 'long' })} ${part({ day: 'numeric', month: 'long', year: 'numeric' })}`;
  }
  function sentence(text) {
    const trimmed = String(text || '').trim();
    const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
    return /[.!?]$/.test(first) ? first : `${first}.`;
  }
  async function api(method, path, token, body) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (_) {
      answer = null;
    }
    return { status: response.status, answer };
  }
  const errorCode = (answer) => (answer && answer.error && answer.error.code) || '';
  const errorMessage = (answer) => (answer && answer.error && answer.error.message) || '';

  function loadSession() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(STORE) || 'null');
      return saved && saved.token && saved.caseKey ? saved : null;
    } catch (_) {
      return null;
    }
  }
  function forget() {
    try {
      sessionStorage.removeItem(STORE);
    } catch (_) {
      // Storage refused: nothing was kept.
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sign-in

  function enhanceSignIn(form, crypto) {
    const input = form.elements.namedItem('case_key');
    const modeText = document.getElementById('mailbox-mode-text');
    const live = document.getElementById('mailbox-live');
    if (!input || !modeText || !live) return;
    // The reporter chose the server this time (`/mailbox?open=server`): the form posts the key.
    if (new URLSearchParams(window.location.search).get('open') === 'server') {
      modeText.textContent =
        'You chose to open your mailbox on our server this time: your case key is sent to the server, ' +
        'which opens your messages as they pass through. To keep the key on this device, ';
      modeText.append(element('a', { href: '/mailbox' }, 'sign in here instead'));
      modeText.append('.');
      return;
    }
    modeText.textContent =
      'Your browser opens your mailbox: your case key stays on this device. Our server gets only a ' +
      'proof worked out from the key, which lets you in but cannot open your messages.';
    document.getElementById('mailbox-mode').dataset.mode = 'browser';
    let serverOnce = false;

    function showError(message, field) {
      live.replaceChildren(element('p', { class: 'error-message' }, message));
      const old = document.getElementById('case_key-error');
      if (field) {
        const error = old || element('p', { class: 'error-message', id: 'case_key-error' });
        error.textContent = message;
        if (!old) input.before(error);
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', 'case_key-hint case_key-error');
        input.focus();
      }
    }

    function offerServer(message) {
      const button = element('button', { type: 'button', class: 'secondary' },
        'Open it on the server this once');
      button.addEventListener('click', () => {
        serverOnce = true;
        form.submit();
      });
      live.replaceChildren(element('p', {}, message), button);
      button.focus();
    }

    form.addEventListener('submit', async (event) => {
      if (serverOnce) return;
      event.preventDefault();
      const typed = input.value;
      let derived;
      let proof;
      try {
        derived = crypto.caseKeyDerive(typed);
        proof = crypto.mailboxProof(typed).proof;
      } catch (error) {
        const message = error.code === 'case_key_typo'
          ? 'That case key has a typo: check each group of four characters.'
          : typed.trim() === ''
            ? 'Enter your case key.'
            : 'A case key has 28 letters and digits in 7 groups of 4, using only the letters and digits shown when you sent your concern.';
        showError(message, true);
        return;
      }
      live.replaceChildren(element('p', {}, 'Signing in…'));
      let reply;
      try {
        reply = await api('POST', '/mailbox/session', null, {
          lookup_id: hex(derived.lookupId),
          proof: hex(proof),
        });
      } catch (_) {
        showError('We could not reach the server. Check your connection and try again.', false);
        return;
      }
      const code = errorCode(reply.answer);
      if (reply.status === 200 && reply.answer && reply.answer.token) {
        try {
          sessionStorage.setItem(STORE, JSON.stringify({
            token: reply.answer.token,
            caseKey: derived.display,
          }));
        } catch (_) {
          offerServer('This browser will not keep your session for the next page, so it cannot open the mailbox itself.');
          return;
        }
        window.location.assign('/mailbox/browser');
      } else if (code === 'mailbox_proof_not_set') {
        offerServer('Your concern was sent before your browser could open the mailbox itself. To set that up, ' +
          'sign in once on the server: your case key is sent to our server this one time. After that, your ' +
          'browser opens your mailbox and the key stays on your device.');
      } else if (code === 'case_erased') {
        showError(errorMessage(reply.answer), true);
      } else if (reply.status === 401) {
        showError('We could not find a concern with that case key. Check it against the key you saved.', true);
      } else if (reply.status === 429) {
        showError('You have tried to sign in too many times. Wait a few minutes and try again.', false);
      } else {
        showError(sentence(errorMessage(reply.answer) || 'Something went wrong. Try again.'), false);
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // The mailbox

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

  function dueLines(due) {
    const lines = [];
    if (due.acknowledge_by) lines.push(`They will acknowledge your concern in writing by ${longDate(due.acknowledge_by)}.`);
    if (due.respond_by) {
      let line = due.provisional
        ? `Your concern has not been assessed yet. If it stays at stage 1, the full response is due by ${longDate(due.respond_by)}.`
        : `The full response is due by ${longDate(due.respond_by)}.`;
      if (due.extended) line += ' The time for this has been extended: the people handling your concern should have told you why.';
      lines.push(line);
    }
    if (due.update_by) lines.push(`You will get an update on progress by ${longDate(due.update_by)}.`);
    return lines;
  }

  function openRecords(crypto, caseKey, mailbox) {
    const dataKey = crypto.unwrapWithCaseKey(caseKey, unbase64(mailbox.reporter_wrap), mailbox.case_id, 'case');
    const messages = mailbox.records.map((record) => {
      const content = JSON.parse(crypto.openText(dataKey, recordAad(mailbox, record), unbase64(record.sealed)));
      return {
        fromHandler: record.author !== 'reporter',
        body: record.kind === 'message' ? content.body : content.letter,
        writtenOn: record.written_on,
      };
    });
    const files = (mailbox.attachments || []).map((record) => ({
      record,
      content: JSON.parse(crypto.openText(dataKey, recordAad(mailbox, record), unbase64(record.sealed))),
    }));
    const requests = (mailbox.identity_requests || []).map((request) => {
      let reason = null;
      try {
        reason = JSON.parse(crypto.openText(dataKey,
          { scope: mailbox.case_id, kind: 'identity-request', record: request.id },
          unbase64(request.sealed_reason))).body;
      } catch (_) {
        reason = null; // shown as "could not be opened"; the request can still be answered
      }
      return { ...request, reason, opened: reason !== null };
    });
    // Letters for requests made from a browser session carry no secret and are written by the
    // server; each goes after what was written up to its day (ISO days compare as text).
    for (const request of mailbox.request_letters || []) {
      let at = messages.length;
      while (at > 0 && messages[at - 1].writtenOn > request.written_on) at -= 1;
      messages.splice(at, 0, { fromHandler: true, body: request.letter, writtenOn: request.written_on });
    }
    return { dataKey, messages, files, requests };
  }

  // The associated data of a record as it was sealed (format 2 binds who wrote it, where and when).
  function recordAad(mailbox, record) {
    const aad = { scope: mailbox.case_id, kind: record.kind, record: record.id };
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

  function sealReply(crypto, dataKey, mailbox, body) {
    const record = hex(window.crypto.getRandomValues(new Uint8Array(16)));
    const sealed = crypto.seal(dataKey, {
      scope: mailbox.case_id,
      kind: 'message',
      record,
      provenance: {
        author: 'reporter',
        position: mailbox.next_position,
        writtenOn: mailbox.today,
      },
    }, encoder.encode(JSON.stringify({ body })));
    return {
      record_id: record,
      position: mailbox.next_position,
      written_on: mailbox.today,
      sealed: base64(sealed),
    };
  }

  async function runMailbox(root, crypto) {
    const live = document.getElementById('mailbox-live');
    const title = document.getElementById('mailbox-title');
    const say = (message, isError) => {
      live.replaceChildren(element('p', { class: isError ? 'error-message' : 'notice success' }, message));
    };
    const signedOut = (message) => {
      forget();
      root.replaceChildren(
        element('p', {}, message),
        (() => {
          const p = element('p');
          p.append(element('a', { href: '/mailbox' }, 'Sign in with your case key'));
          return p;
        })(),
      );
      title.focus();
    };
    const session = loadSession();
    if (!session) {
      signedOut('You are not signed in to your mailbox in this tab.');
      return;
    }
    let mailbox = null;
    let opened = null;

    async function fetchMailbox() {
      const reply = await api('GET', '/mailbox/sealed', session.token);
      if (reply.status === 401) {
        signedOut(errorCode(reply.answer) === 'case_erased'
          ? errorMessage(reply.answer)
          : 'Your session ended, so you have been signed out. Sign in again with your case key.');
        return false;
      }
      if (reply.status !== 200) throw new Error(`mailbox ${reply.status}`);
      mailbox = reply.answer;
      opened = openRecords(crypto, session.caseKey, mailbox);
      return true;
    }

    function render(draft) {
      const heading = `Your concern ${mailbox.reference}`;
      title.textContent = heading;
      document.title = `${heading} - speakup`;
      const parts = [];
      parts.push(element('p', { class: 'notice', id: 'mailbox-mode', 'data-mode': 'browser' },
        'Opened in your browser: your case key stays on this device. Our server stores and passes on ' +
        'your messages sealed, and cannot read them.'));
      const signOut = element('button', { type: 'button', class: 'secondary', id: 'mailbox-sign-out' }, 'Sign out');
      signOut.addEventListener('click', async () => {
        try {
          await api('DELETE', '/mailbox/session', session.token);
        } finally {
          signedOut('You have signed out.');
        }
      });
      parts.push(signOut);

      parts.push(element('h2', {}, 'Where it is now'));
      const table = element('table');
      for (const [label, value] of [
        ['Organisation', mailbox.organisation],
        ['Received', longDate(mailbox.received_on)],
        ['Stage', sentence(mailbox.state_label).replace(/\.$/, '')],
        ['You raised it', mailbox.anonymity === 'anonymous' ? 'Anonymously' : 'Confidentially'],
      ]) {
        const row = element('tr');
        row.append(element('th', { scope: 'row' }, label), element('td', {}, value));
        table.append(row);
      }
      parts.push(table);
      const lines = dueLines(mailbox.due || {});
      if (lines.length) {
        parts.push(element('h2', {}, 'Next dates'));
        const list = element('ul');
        for (const line of lines) list.append(element('li', {}, line));
        parts.push(list, element('p', {}, 'Working days do not include weekends or public holidays.'));
      }
      if (mailbox.signposting && mailbox.signposting.length) {
        parts.push(element('h2', {}, 'Where you can go next'));
        for (const signpost of mailbox.signposting) {
          const section = element('section', { class: 'panel signpost' });
          section.append(element('h3', {}, signpost.body_name), element('p', {}, signpost.plain_text));
          if (signpost.deadline) section.append(element('p', {}, `Contact them by ${longDate(signpost.deadline)}.`));
          const contact = element('ul');
          for (const line of signpost.contact || []) contact.append(element('li', {}, line));
          section.append(contact);
          parts.push(section);
        }
      }

      if (opened.requests.length) parts.push(...identityRequests());

      parts.push(element('h2', {}, 'Messages'));
      if (opened.messages.length === 0) {
        parts.push(element('p', {}, 'There are no messages yet.'));
      }
      for (const message of opened.messages) {
        const box = element('div', { class: message.fromHandler ? 'message from-handler' : 'message' });
        box.append(element('h3', { class: 'meta' },
          `${message.fromHandler ? 'From the people handling your concern' : 'From you'}, ${longDate(message.writtenOn)}`));
        box.append(document.createTextNode(message.body));
        parts.push(box);
      }

      if (mailbox.open) {
        const form = element('form', { id: 'mailbox-reply', novalidate: '' });
        form.append(element('h2', {}, 'Reply'));
        const field = element('div', { class: 'field' });
        field.append(element('label', { for: 'body' }, 'Your message'));
        field.append(element('p', { class: 'hint', id: 'body-hint' },
          `It is sealed in your browser before it is sent. The people handling your concern will read it the next time they look. You can write up to ${MAX_MESSAGE_CHARS.toLocaleString('en-GB')} characters.`));
        const textarea = element('textarea', { id: 'body', name: 'body', rows: '6', 'aria-describedby': 'body-hint' });
        textarea.value = draft || '';
        field.append(textarea);
        form.append(field, element('button', { type: 'submit' }, 'Send message'));
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          send(textarea);
        });
        parts.push(form);
      } else {
        parts.push(element('p', {}, 'This concern is closed, so you cannot send messages.'));
      }
      parts.push(...requestForms());
      parts.push(...fileSection());
      root.replaceChildren(...parts);
    }

    // Requests to share the reporter's name, as on the server's page: who would learn it, why
    // (opened here), and the two answers.
    function identityRequests() {
      const parts = [element('h2', { id: 'identity-requests' }, 'Requests to share your name'),
        element('p', {}, 'Only the people you chose know who you are. Someone else is now handling your concern and ' +
          'the people below would like to be told your name and contact details. Nothing is shared unless ' +
          'you agree. If you say no, your concern is still handled.')];
      opened.requests.forEach((request, index) => {
        const headingId = `identity-request-${index + 1}`;
        const section = element('section', { class: 'panel', 'aria-labelledby': headingId });
        section.append(element('h3', { id: headingId }, `${request.to_name}, ${request.to_role}`));
        if (!request.opened) {
          section.append(element('p', { class: 'error-message' }, 'The reason for this request could not be opened in this browser.'));
        } else if (request.reason) {
          section.append(element('p', { class: 'message' }, request.reason));
        }
        const approve = element('button', { type: 'button', 'data-decision': 'approve' }, `Share my name with ${request.to_name}`);
        const decline = element('button', { type: 'button', class: 'secondary', 'data-decision': 'decline' }, 'Do not share it');
        for (const button of [approve, decline]) {
          button.addEventListener('click', () => decide(request, button.dataset.decision, [approve, decline]));
        }
        const actions = element('div', { class: 'inline-form' });
        actions.append(approve, ' ', decline);
        section.append(actions);
        parts.push(section);
      });
      return parts;
    }

    async function decide(request, decision, buttons) {
      for (const button of buttons) button.disabled = true;
      const reply = await api('POST', `/mailbox/identity-requests/${encodeURIComponent(request.id)}`, session.token, { decision });
      if (reply.status === 401) {
        signedOut('Your session ended before your answer was saved. Sign in again and answer again.');
        return;
      }
      if (!(await fetchMailbox())) return;
      render('');
      if (reply.status === 200) {
        say(decision === 'approve'
          ? `Your answer has been saved: ${request.to_name} will be told your name and contact details.`
          : 'Your answer has been saved: your name is not shared.', false);
      } else if (reply.status === 404) {
        say('That request had already been answered.', true);
      } else {
        say(sentence(errorMessage(reply.answer) || 'Your answer could not be saved. Try again.'), true);
      }
      title.focus();
    }

    // Files: the list (each opened here on request) and the form that seals a new one here.
    function fileSection() {
      const parts = [element('h2', { id: 'files', tabindex: '-1' }, 'Files')];
      if (opened.files.length) {
        const table = element('table');
        table.append(element('caption', {}, 'Files you and the people handling your concern have added'));
        const head = element('tr');
        for (const title of ['File', 'Size', 'From', 'Added']) head.append(element('th', { scope: 'col' }, title));
        const thead = element('thead');
        thead.append(head);
        const body = element('tbody');
        for (const { record, content } of opened.files) {
          const cell = element('td');
          const button = element('button', { type: 'button', class: 'file-button', 'data-file': record.id }, content.name);
          button.addEventListener('click', async () => {
            button.disabled = true;
            try {
              await downloadFile(record, content);
            } catch (error) {
              say(`${content.name} could not be opened: ${error && error.message ? error.message : 'unexpected error'}.`, true);
            } finally {
              button.disabled = false;
            }
          });
          cell.append(button);
          if (content.removed_metadata && content.removed_metadata.length) {
            cell.append(element('br'), element('span', { class: 'hint' }, `We removed: ${content.removed_metadata.join('; ')}.`));
          }
          const row = element('tr');
          row.append(
            cell,
            element('td', {}, humanSize(content.size)),
            element('td', {}, record.author === 'reporter' ? 'You' : 'The people handling your concern'),
            element('td', {}, longDate(record.written_on)),
          );
          body.append(row);
        }
        table.append(thead, body);
        // A data table may scroll sideways on a narrow phone; the page itself does not.
        const scroll = element('div', { class: 'table-scroll', role: 'region', 'aria-label': 'Your files (scrolls sideways on a small screen)', tabindex: '0' });
        scroll.append(table);
        parts.push(scroll, element('p', {}, 'Files always download: they are opened in this browser, never on the page. Open them with care.'));
      } else {
        parts.push(element('p', {}, 'There are no files yet.'));
      }
      const most = Number(mailbox.max_attachment_bytes || 0);
      parts.push(element('h3', {}, 'Add a file'),
        element('p', {}, `You can add evidence such as a photo, a scanned letter or a PDF${most ? `, up to ${humanSize(most)} each` : ''}. ` +
          'It is sealed in this browser with your case key before it is sent, and only the people handling your concern can open it.'),
        element('p', {}, 'Before it is sealed, this browser removes the hidden details that photos carry: where and when a photo ' +
          'was taken, and on what camera or phone. It cannot remove what a file shows: faces, name badges, screens or places ' +
          'in a picture, or names and signatures in a document\'s text. It also clears the author and similar details from PDF ' +
          'files, but not from Word or other office documents. The list of your files shows what was removed from each: if a ' +
          'photo shows nothing removed, its hidden details are still in it. If that could identify you, take a screenshot or ' +
          'copy the text into a message instead.'));
      const form = element('form', { id: 'mailbox-file', novalidate: '' });
      const field = element('div', { class: 'field' });
      const input = element('input', { type: 'file', id: 'file', name: 'file', 'aria-describedby': 'file-hint' });
      field.append(element('label', { for: 'file' }, 'File'),
        element('p', { class: 'hint', id: 'file-hint' }, 'The file\'s name is sealed with it: our server does not see it.'),
        input);
      form.append(field, element('button', { type: 'submit' }, 'Add the file'));
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        addFile(form, input, most);
      });
      parts.push(form);
      return parts;
    }

    function fileError(input, message) {
      let error = document.getElementById('file-error');
      if (!error) {
        error = element('p', { class: 'error-message', id: 'file-error' });
        input.before(error);
      }
      error.textContent = message;
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', 'file-hint file-error');
      say(message, true);
      input.focus();
    }

    async function addFile(form, input, most) {
      const file = input.files && input.files[0];
      if (!file) {
        fileError(input, 'Choose a file to add.');
        return;
      }
      if (most && file.size > most) {
        fileError(input, `That file is larger than ${humanSize(most)}, the most one file can be. Send a smaller file, or split it into parts.`);
        return;
      }
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      say('Removing hidden details and sealing your file in this browser…', false);
      try {
        const added = await sealAndSend(file);
        if (added === 'signed-out') return;
        if (await fetchMailbox()) {
          render('');
          say('Your file has been added. The list of your files shows any hidden details removed from it.', false);
          document.getElementById('files').focus();
        }
      } catch (error) {
        button.disabled = false;
        fileError(input, `Your file was not added: ${sentence(error && error.message ? error.message : 'something went wrong')}`);
      }
    }

    // Cleans and seals the file here, a slice at a time, then sends the sealed stream with its
    // description sealed for the next position (sealed again if another record takes it).
    async function sealAndSend(file) {
      const id = hex(window.crypto.getRandomValues(new Uint8Array(16)));
      crypto.fileSealBegin(opened.dataKey, mailbox.case_id, id);
      const end = await crypto.fileSealToBlob(file);
      const sealedFile = end.blob;
      const description = JSON.stringify({ name: crypto.fileName(file.name), size: end.size, removed_metadata: end.removed });
      for (let attempt = 0; attempt < 4; attempt += 1) {
        const record = crypto.seal(opened.dataKey, {
          scope: mailbox.case_id,
          kind: 'attachment',
          record: id,
          provenance: { author: 'reporter', position: mailbox.next_position, writtenOn: mailbox.today },
        }, description);
        const body = new FormData();
        body.append('id', id);
        body.append('position', String(mailbox.next_position));
        body.append('written_on', mailbox.today);
        body.append('record', base64(record));
        body.append('file', sealedFile, 'sealed');
        const response = await fetch('/api/v1/mailbox/sealed/attachments', {
          method: 'POST',
          headers: { Accept: 'application/json', Authorization: `Bearer ${session.token}` },
          body,
          credentials: 'omit',
          cache: 'no-store',
        });
        if (response.status === 201) return 'added';
        const answer = await response.json().catch(() => null);
        if (response.status === 401) {
          signedOut('Your session ended before your file was sent. Sign in again and add it again.');
          return 'signed-out';
        }
        const code = errorCode(answer);
        if (response.status === 409 && (code === 'position_taken' || code === 'day_changed')) {
          if (!(await fetchMailbox())) return 'signed-out';
          continue;
        }
        throw new Error(errorMessage(answer) || `not stored (${response.status})`);
      }
      throw new Error('other messages kept arriving; try again');
    }

    async function downloadFile(record, content) {
      const response = await fetch(`/api/v1/mailbox/sealed/attachments/${encodeURIComponent(record.id)}`, {
        headers: { Authorization: `Bearer ${session.token}` },
        credentials: 'omit',
        cache: 'no-store',
      });
      if (response.status === 401) {
        signedOut('Your session ended, so you have been signed out. Sign in again with your case key.');
        return;
      }
      if (!response.ok) throw new Error(`the file did not load (${response.status})`);
      crypto.fileOpenBegin(opened.dataKey, mailbox.case_id, record.id);
      await crypto.fileOpenToDownload(response, content.name);
    }

    // Stage 2, withdrawal and detriment, as on the server's page; the words are sealed here.
    function requestForms() {
      const state = mailbox.state;
      const parts = [element('h2', { id: 'requests' }, 'Ask for something'),
        element('p', {}, 'You can ask for these at any time. What you write is sealed in your browser and goes only to the people handling your concern.')];
      const panel = (id, heading, text, type, label, button, extra) => {
        const section = element('section', { class: 'panel', 'aria-labelledby': id });
        section.append(element('h3', { id }, heading), element('p', {}, text));
        const form = element('form', { novalidate: '', 'data-request': type });
        const field = element('div', { class: 'field' });
        field.append(element('label', { for: `${type}-message` }, label));
        const textarea = element('textarea', { id: `${type}-message`, name: 'message', rows: '3' });
        field.append(textarea);
        form.append(field);
        let confirm = null;
        if (extra === 'confirm') {
          const box = element('div', { class: 'field checkbox' });
          confirm = element('input', { type: 'checkbox', id: `${type}-confirm`, name: 'confirm', value: 'yes' });
          box.append(confirm, element('label', { for: `${type}-confirm` }, 'Yes, withdraw my concern'));
          form.append(box);
        }
        form.append(element('button', { type: 'submit', class: type === 'withdraw' ? 'secondary' : '' }, button));
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          if (confirm && !confirm.checked) {
            say('Nothing was withdrawn: tick the box to confirm you want to withdraw your concern.', true);
            confirm.focus();
            return;
          }
          ask(type, textarea);
        });
        section.append(form);
        return section;
      };
      if (['received', 'stage1', 'stage1_closed'].includes(state)) {
        parts.push(panel('ask-stage2', 'Ask for an investigation (stage 2)',
          `${state === 'stage1_closed' ? 'If you are not happy with the stage 1 response, you can ask for stage 2.' : 'If you think your concern needs a full investigation, you can ask for it now.'} ` +
          'Stage 2 starts on the day you ask: they must acknowledge it within 3 working days and respond within 20.',
          'stage2', 'Why you are asking (optional)', 'Ask for stage 2'));
      }
      parts.push(panel('report-detriment', 'Report being treated badly',
        'If you have been bullied, left out, given worse shifts, disciplined or threatened because you raised a ' +
        'concern, tell us. You are protected from this. The whistleblowing champion is told that you made a report, not what it says.',
        'detriment', 'What happened, and when', 'Send the report'));
      if (['received', 'stage1', 'stage2'].includes(state)) {
        parts.push(panel('withdraw-concern', 'Withdraw your concern',
          'If you no longer want your concern looked into, you can withdraw it. It stays on record as withdrawn, and you can still write to us here.',
          'withdraw', 'Why (optional)', 'Withdraw my concern', 'confirm'));
      }
      return parts;
    }

    const DONE = {
      stage2: 'You have asked for stage 2. It starts today.',
      withdraw: 'Your concern has been withdrawn.',
      detriment: 'Your report has been sent. The whistleblowing champion has been told that you made one.',
    };

    async function ask(type, textarea) {
      const words = textarea.value.trim();
      if ([...words].length > MAX_MESSAGE_CHARS) {
        say(`What you write can be at most ${MAX_MESSAGE_CHARS.toLocaleString('en-GB')} characters.`, true);
        textarea.focus();
        return;
      }
      for (let attempt = 0; attempt < 4; attempt += 1) {
        const body = { type };
        if (words) body.message = sealReply(crypto, opened.dataKey, mailbox, words);
        const reply = await api('POST', '/mailbox/sealed/requests', session.token, body);
        if (reply.status === 201) {
          if (await fetchMailbox()) {
            render('');
            say(DONE[type], false);
            title.focus();
          }
          return;
        }
        if (reply.status === 401) {
          signedOut('Your session ended before your request was sent. Sign in again and ask again.');
          return;
        }
        const code = errorCode(reply.answer);
        if (reply.status === 409 && (code === 'position_taken' || code === 'day_changed')) {
          if (!(await fetchMailbox())) return;
          continue;
        }
        say(sentence(errorMessage(reply.answer) || 'Your request could not be sent. Try again.'), true);
        textarea.focus();
        return;
      }
      say('Your request could not be sent because other messages kept arriving. Try again.', true);
    }

    function fieldError(textarea, message) {
      let error = document.getElementById('body-error');
      if (!error) {
        error = element('p', { class: 'error-message', id: 'body-error' });
        textarea.before(error);
      }
      error.textContent = message;
      textarea.setAttribute('aria-invalid', 'true');
      textarea.setAttribute('aria-describedby', 'body-hint body-error');
      say(message, true);
      textarea.focus();
    }

    async function send(textarea) {
      const body = textarea.value.trim();
      if (!body) {
        fieldError(textarea, 'Write a message before sending it.');
        return;
      }
      if ([...body].length > MAX_MESSAGE_CHARS) {
        fieldError(textarea, `A message can be at most ${MAX_MESSAGE_CHARS.toLocaleString('en-GB')} characters.`);
        return;
      }
      say('Sealing and sending your message…', false);
      for (let attempt = 0; attempt < 4; attempt += 1) {
        const reply = await api('POST', '/mailbox/sealed/messages', session.token,
          sealReply(crypto, opened.dataKey, mailbox, body));
        if (reply.status === 201) {
          if (await fetchMailbox()) {
            render('');
            say('Your message has been sent.', false);
            document.getElementById('body').focus();
          }
          return;
        }
        if (reply.status === 401) {
          signedOut('Your session ended before your message was sent. Copy your message from below, sign in again and send it.');
          root.append(element('p', { class: 'message' }, body));
          return;
        }
        const code = errorCode(reply.answer);
        if (reply.status === 409 && (code === 'position_taken' || code === 'day_changed')) {
          // Another message came first (or midnight passed): seal again for the new position.
          if (!(await fetchMailbox())) return;
          continue;
        }
        fieldError(textarea, sentence(errorMessage(reply.answer) || 'Your message could not be sent. Try again.'));
        return;
      }
      fieldError(textarea, 'Your message could not be sent because other messages kept arriving. Try again.');
    }

    try {
      if (await fetchMailbox()) render('');
    } catch (_) {
      root.replaceChildren(element('p', { class: 'error-message' },
        'Your mailbox could not be opened in this browser. Sign out and sign in again with your case key.'));
      live.replaceChildren(element('p', { class: 'error-message' }, 'Your mailbox could not be opened.'));
    }
  }

  window.SpeakupCrypto.ready.then((crypto) => {
    const form = document.getElementById('mailbox-sign-in');
    if (form) enhanceSignIn(form, crypto);
    const root = document.getElementById('mailbox-browser');
    if (root) runMailbox(root, crypto);
  }, () => {
    // The module did not load (integrity, memory): the forms keep working the server's way.
  });
})();
