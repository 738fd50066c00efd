// Bab chat page: renders the conversation, long-polls for bot replies and
// posts user input. Security rule: server and user text only ever goes
// through textContent (never innerHTML). The visitor cookie is HttpOnly and
// sent automatically on same-origin requests.
'use strict';

(() => {
  const MAX_CHARS = 4000;
  const POLL_WAIT = 25;               // seconds the server may hold a poll
  const POLL_TIMEOUT_MS = 40000;      // client gives up a bit after the server would
  const NEAR_BOTTOM_PX = 120;

  const $ = (id) => document.getElementById(id);
  const el = {
    title: $('title'), status: $('status'), scroller: $('scroller'), welcome: $('welcome'),
    log: $('log'), notice: $('notice'), form: $('composer'), input: $('input'),
    inputLabel: $('input-label'), send: $('send'), sendLabel: $('send-label'),
    photo: $('photo'), file: $('file'), locate: $('locate'), typing: $('typing'),
    typingLabel: $('typing-label'), leave: $('leave'), start: $('start'), reopen: $('reopen'),
    reopenError: $('reopen-error'), receiptLink: $('receipt-link'),
  };
  document.documentElement.classList.add('js');
  const TZ = 'Africa/Casablanca';   // receipts and deadlines are in Moroccan time: so is the page

  const state = {
    locale: null, strings: {}, lastId: 0, seen: new Set(), uiLoading: null, placeQuestions: [],
    pendingStart: null, lastDay: '', clockOffset: 0, place: document.body.dataset.place || '', maxChars: MAX_CHARS,
  };
  const t = (key) => state.strings[key] || '';
  const sleep = (ms) => new Promise((resolve) => {
    // Wake early when the browser says the network is back.
    const done = () => { clearTimeout(timer); window.removeEventListener('online', done); resolve(); };
    const timer = setTimeout(done, ms);
    window.addEventListener('online', done);
  });

  // ---- HTTP -------------------------------------------------------------
  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function request(url, { method = 'GET', json, body, timeoutMs = 20000 } = {}) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    const headers = { Accept: 'application/json' };
    if (json !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
    try {
      const res = await fetch(url, {
        method, body, headers, credentials: 'same-origin', cache: 'no-store', signal: ctrl.signal,
      });
      let data = null;
      try { data = await res.json(); } catch (_) { /* e.g. a proxy's HTML error page */ }
      if (!res.ok) throw new HttpError(res.status, (data && data.error) || '');
      return data || {};
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- UI strings / direction --------------------------------------------
  function applyUi(ui) {
    state.locale = ui.locale;
    state.strings = ui.strings || {};
    state.placeQuestions = ui.place_questions || [];
    if (Number.isInteger(ui.max_chars)) state.maxChars = ui.max_chars;
    // Moroccan wall-clock time minus the browser's clock, so that what the visitor sends is stamped alike.
    if (ui.now_local) state.clockOffset = asDate(ui.now_local).getTime() - Date.now();
    const root = document.documentElement;
    root.lang = ui.locale;
    root.dir = ui.dir === 'rtl' ? 'rtl' : 'ltr';
    if (t('title')) { document.title = t('title'); el.title.textContent = t('title'); }
    el.input.placeholder = t('placeholder');
    el.inputLabel.textContent = t('placeholder');
    el.sendLabel.textContent = t('send');
    el.send.title = t('send');
    el.photo.setAttribute('aria-label', t('attach_photo'));
    el.photo.title = t('attach_photo');
    el.locate.setAttribute('aria-label', t('share_location'));
    el.locate.title = t('share_location');
    el.typingLabel.textContent = t('typing');
    el.leave.textContent = t('leave');
  }

  // Coalesce concurrent reloads (several messages may announce the new locale).
  function loadUi() {
    if (!state.uiLoading) {
      const lang = document.documentElement.lang;
      state.uiLoading = request(`/api/ui?lang=${encodeURIComponent(lang)}`).then(applyUi).finally(() => { state.uiLoading = null; });
    }
    return state.uiLoading;
  }

  // ---- status bar and inline notices --------------------------------------
  let statusTimer = 0;
  function showStatus(text, { ok = false, forMs = 0 } = {}) {
    clearTimeout(statusTimer);
    el.status.textContent = text || '…';
    el.status.classList.toggle('ok', ok);
    el.status.hidden = false;
    if (forMs) statusTimer = setTimeout(() => { el.status.hidden = true; }, forMs);
  }
  const hideStatus = () => { clearTimeout(statusTimer); el.status.hidden = true; };

  let noticeTimer = 0;
  function showNotice(text, forMs = 6000) {
    clearTimeout(noticeTimer);
    el.notice.textContent = text || t('sending_failed') || '⚠';
    el.notice.hidden = false;
    noticeTimer = setTimeout(() => { el.notice.hidden = true; }, forMs);
  }
  const errorText = (err) => (err instanceof HttpError && err.message) || t('sending_failed');

  // ---- rendering ------------------------------------------------------------
  // Follow new messages only while the reader is at the bottom, so scrolling
  // back through history isn't interrupted. A ResizeObserver keeps the newest
  // message in view when images decode or the notice/status bars appear.
  // The first screen (no message yet) is read from its top: what Bab is comes
  // first, so nothing scrolls while it shows; the first message follows again.
  let pinned = true;
  const firstScreen = () => !el.welcome.hidden;
  const nearBottom = () =>
    el.scroller.scrollHeight - el.scroller.scrollTop - el.scroller.clientHeight < NEAR_BOTTOM_PX;
  const scrollToEnd = () => { if (!firstScreen()) el.scroller.scrollTop = el.scroller.scrollHeight; };
  el.scroller.addEventListener('scroll', () => { if (!firstScreen()) pinned = nearBottom(); }, { passive: true });
  if ('ResizeObserver' in window) {
    const ro = new ResizeObserver(() => { if (pinned) scrollToEnd(); });
    ro.observe(el.scroller);
    ro.observe(el.log);
  }

  // ar-MA keeps Latin digits, as commonly used in Morocco. Times are Moroccan wall-clock times sent by the
  // server ("local"), formatted as UTC so that the browser's own zone data cannot shift them.
  const intlLocale = () => (state.locale === 'fr' ? 'fr-MA' : 'ar-MA');
  const asDate = (local) => new Date(`${local}Z`);
  const nowLocal = () => new Date(Date.now() + state.clockOffset);
  const localIso = (d) => d.toISOString().slice(0, 19);
  function formatTime(local) {
    const d = asDate(local);
    if (Number.isNaN(d.getTime())) return '';
    try {
      return d.toLocaleTimeString(intlLocale(), { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
    } catch (_) { return ''; }
  }
  const dayOf = (d) => d.toISOString().slice(0, 10);
  function dayLabel(local) {
    const d = asDate(local);
    const day = dayOf(d);
    if (day === dayOf(nowLocal())) return t('today');
    if (day === dayOf(new Date(nowLocal().getTime() - 86400000))) return t('yesterday');
    return d.toLocaleDateString(intlLocale(), { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  }
  function daySeparator(local) {
    const d = asDate(local);
    if (Number.isNaN(d.getTime())) return;
    const day = dayOf(d);
    if (day === state.lastDay) return;
    state.lastDay = day;
    const li = document.createElement('li');
    li.className = 'day';
    const time = document.createElement('time');
    time.dateTime = day;
    time.textContent = dayLabel(local);
    li.append(time);
    el.log.append(li);
  }

  // Text with law numbers (31-13, 2-17-265) kept on one line; still only text nodes, never HTML.
  const LAW_NUMBER = /\b\d{1,2}-\d{2}(?:-\d{2,3})?\b/g;
  function setText(node, text) {
    let last = 0;
    for (const match of text.matchAll(LAW_NUMBER)) {
      node.append(text.slice(last, match.index));
      const span = document.createElement('span');
      span.className = 'nowrap';
      span.textContent = match[0];
      node.append(span);
      last = match.index + match[0].length;
    }
    node.append(text.slice(last));
  }

  // The summary shown before confirmation (a question offering "send" and "edit") is plain text from the core,
  // as every channel gets it. Its paragraphs made of "Label: value" lines are drawn here as a two-column list,
  // the label emphasised; any other paragraph, or any summary of another shape, stays text as it was sent.
  // Catalogue labels are short and have no sentence punctuation; a line that is not a pair continues the value
  // above it (a description typed on several lines).
  const PAIR = /^([^:\n.,;!?()«»"،؛؟]{1,40}?)\s*:(?:\s+(.*))?$/;
  const isSummary = (m) => m.from === 'bot' && !m.card && typeof m.text === 'string' && Array.isArray(m.options)
    && m.options.some((o) => o.id === 'send') && m.options.some((o) => o.id === 'edit');
  function renderSummary(bubble, text) {
    const paragraphs = text.split(/\n[ \t]*\n+/).map((p) => p.replace(/^\n+|\n+$/g, '')).filter(Boolean);
    const drawn = paragraphs.map((para) => {
      const lines = para.split('\n');
      const pairs = lines.map((line) => line.match(PAIR));
      if (!pairs[0] || pairs.filter(Boolean).length < 2) return null;
      const dl = document.createElement('dl');
      dl.className = 'pairs';
      let dd = null;
      lines.forEach((line, i) => {
        if (pairs[i]) {
          const dt = document.createElement('dt');
          dt.textContent = pairs[i][1].trim();
          // The value is isolated with its own direction (a Latin name or a phone number in an Arabic summary),
          // while the cell keeps the page's alignment.
          const value = document.createElement('bdi');
          setText(value, pairs[i][2] || '');
          dd = document.createElement('dd');
          dd.append(value);
          dl.append(dt, dd);
        } else dd.lastChild.append(`\n${line}`);
      });
      return dl;
    });
    if (!drawn.some(Boolean)) { setText(bubble, text); return false; }
    bubble.classList.add('summary');
    paragraphs.forEach((para, i) => {
      if (drawn[i]) { bubble.append(drawn[i]); return; }
      const p = document.createElement('p');
      setText(p, para);
      bubble.append(p);
    });
    return true;
  }

  // Builds one <li>. m.node (a photo preview) replaces m.text when present.
  function addMessage(m, { force = false, restoring = false } = {}) {
    if (m.id != null) {
      if (state.seen.has(m.id)) return null;
      state.seen.add(m.id);
    }
    if (firstScreen()) { el.welcome.hidden = true; pinned = true; }   // the conversation starts: follow it
    if (m.local) daySeparator(m.local);
    const li = document.createElement('li');
    li.className = `msg msg-${m.from === 'user' ? 'user' : 'bot'}`;
    li.dir = m.dir === 'rtl' || m.dir === 'ltr' ? m.dir : 'auto';
    if (m.locale) li.lang = m.locale;

    const bubble = document.createElement('div');
    bubble.className = 'bubble';
    if (m.node) { bubble.classList.add('photo'); bubble.append(m.node); }
    else if (m.image) {
      const img = document.createElement('img');
      img.src = m.image; img.alt = t('photo_sent'); img.loading = 'lazy';
      bubble.classList.add('photo'); bubble.append(img);
    } else if (m.location) bubble.append(renderLocation(m.location));
    else if (m.card) { li.classList.add('receipt'); bubble.append(renderCard(m)); }
    else if (isSummary(m)) { if (renderSummary(bubble, m.text)) li.classList.add('summary'); }
    else setText(bubble, m.text || '');
    for (const f of Array.isArray(m.files) ? m.files : []) {
      // Documents attached to an answer: a link per file, served only to whoever may see it.
      const a = document.createElement('a');
      a.href = f.url; a.target = '_blank'; a.rel = 'noopener'; a.className = 'file';
      a.textContent = f.kind === 'photo' ? '🖼️ ' + (f.id ?? '') : '📄 ' + (f.id ?? '');
      bubble.append(document.createElement('br'), a);
    }
    li.append(bubble);

    if (m.local) {
      const time = document.createElement('time');
      time.dateTime = m.at || m.local;
      time.textContent = formatTime(m.local);
      time.setAttribute('aria-hidden', 'true');   // the day separators say when; each time would be noise
      li.append(time);
    }

    let options = null;
    if (m.from === 'bot') {
      // A newer bot message exists now: older menus step back and leave the tab order (they still work).
      el.log.querySelectorAll('.options:not(.stale)').forEach((o) => {
        o.classList.add('stale');
        o.querySelectorAll('button').forEach((b) => { b.tabIndex = -1; });
      });
      if (Array.isArray(m.options) && m.options.length) { options = renderOptions(m); li.append(options); }
      else if (state.place && state.placeQuestions.includes(m.text)) li.append(renderPlaceChip());
    }

    if (force) pinned = true;
    el.log.append(li);
    if (pinned) scrollToEnd();
    if (m.from === 'bot' && !restoring) {
      hideTyping();
      // After a choice, focus goes on to the newest question (its first button, or the text box); after typing,
      // it stays in the text box.
      if (state.lastAction === 'choice') {
        if (options) options.querySelector('button').focus({ preventScroll: true });
        else if (m.version != null) el.input.focus({ preventScroll: true });
      }
      continueStart(m);
    }
    return li;
  }

  function renderLocation(loc) {
    const box = document.createElement('span');
    const a = document.createElement('a');
    a.href = loc.map; a.target = '_blank'; a.rel = 'noopener noreferrer'; a.className = 'map';
    a.textContent = `📍 ${loc.place || t('location_sent')}`;
    a.title = t('open_map');
    const small = document.createElement('small');
    small.dir = 'ltr';
    small.textContent = `${Number(loc.lat).toFixed(4)}, ${Number(loc.lon).toFixed(4)}`;
    box.append(a, document.createElement('br'), small);
    return box;
  }

  // The receipt: the reference first and large, the code, then the text, and what to do with it.
  function renderCard(m) {
    const card = m.card;
    const box = document.createElement('div');
    box.className = 'card';
    const h = document.createElement('p');
    h.className = 'card-title';
    h.textContent = t('receipt');
    const dl = document.createElement('dl');
    const pair = (key, value, cls) => {
      if (!value) return;
      const dt = document.createElement('dt'); dt.textContent = t(key);
      const dd = document.createElement('dd'); dd.textContent = value;
      if (cls) { dd.className = cls; dd.dir = 'ltr'; }
      dl.append(dt, dd);
    };
    pair('reference', card.reference, 'ref');
    pair('code', card.code, 'code');
    pair('to', card.to);
    pair('received_on', card.received_on);
    pair('due_on', card.due_on);
    const text = document.createElement('p');
    text.className = 'card-text';
    setText(text, m.text || '');
    box.append(h, dl);
    if (card.code) {
      const hint = document.createElement('p'); hint.className = 'hint'; hint.textContent = t('code_hint');
      box.append(hint);
    }
    box.append(text);
    const actions = document.createElement('div');
    actions.className = 'card-actions';
    const summary = [`${t('reference')}: ${card.reference}`, card.code ? `${t('code')}: ${card.code}` : '', '',
      m.text || ''].filter((line, i) => line || i === 2).join('\n');
    const button = (label, onClick) => {
      const b = document.createElement('button'); b.type = 'button'; b.textContent = label;
      b.addEventListener('click', onClick); actions.append(b); return b;
    };
    button(t('copy'), async () => {
      try { await navigator.clipboard.writeText(summary); showStatus(t('copied'), { ok: true, forMs: 2500 }); }
      catch (_) { showNotice(t('sending_failed')); }
    }).className = 'copy';
    if (navigator.share) button(t('share'), () => navigator.share({ title: card.reference, text: summary }).catch(() => {}));
    button(t('print'), () => printReceipt(box.closest('li'))).className = 'print';
    box.append(actions);
    state.lastReceipt = card.reference;
    box.id = `receipt-${card.reference}`;
    el.receiptLink.textContent = card.reference;
    el.receiptLink.href = `#receipt-${card.reference}`;
    el.receiptLink.hidden = false;
    return box;
  }

  function printReceipt(li) {
    document.querySelectorAll('.print-target').forEach((n) => n.classList.remove('print-target'));
    li.classList.add('print-target');
    document.body.classList.add('printing-receipt');
    window.print();
  }
  window.addEventListener('afterprint', () => document.body.classList.remove('printing-receipt'));

  // Embedded for one collectivity: offer it under the question that asks for a place.
  function renderPlaceChip() {
    const box = document.createElement('div');
    box.className = 'options suggest';
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = document.body.dataset.placeName || state.place;
    b.addEventListener('click', () => {
      state.pendingPlace = state.place;
      const text = b.textContent;
      const li = echo(text);
      post(li, () => request('/api/messages', { method: 'POST', json: { text, locale: state.locale } }));
      showTyping();
    });
    box.append(b);
    return box;
  }

  // The first screen's buttons: open the menu in the page's language, then tap for the visitor.
  function continueStart(m) {
    const options = Array.isArray(m.options) ? m.options : [];
    if (state.pendingPlace) {
      const found = options.find((o) => o.id === state.pendingPlace);
      state.pendingPlace = null;
      if (found) { sendChoice(found, m.version, null); return; }
    }
    const want = state.pendingStart;
    if (!want || !options.length) return;
    const lang = options.find((o) => o.id === `lang:${want.locale}`);
    if (m.locale !== want.locale && lang) { sendChoice(lang, m.version, null); return; }
    const found = options.find((o) => o.id === want.option);
    if (found) { state.pendingStart = null; sendChoice(found, m.version, null); }
  }

  function renderOptions(m) {
    const box = document.createElement('div');
    box.className = 'options';
    for (const opt of m.options) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = opt.label;
      b.dataset.id = opt.id;
      // What a button does shows in its look: sending, and cancelling or withdrawing, stand apart.
      if (opt.id === 'send') b.className = 'primary';
      else if (opt.id === 'cancel' || /withdraw/.test(opt.id)) b.className = 'danger';
      b.addEventListener('click', () => sendChoice(opt, m.version, b));
      box.append(b);
    }
    return box;
  }

  function showTyping() {
    el.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, 30000);
    if (pinned) scrollToEnd();
  }
  function hideTyping() { clearTimeout(state.typingTimer); el.typing.hidden = true; }

  function echo(text, node) {
    const li = addMessage(
      { id: null, from: 'user', text, node, locale: state.locale,
        dir: document.documentElement.dir, at: new Date().toISOString(), local: localIso(nowLocal()) },
      { force: true });
    li.classList.add('pending');
    return li;
  }

  // Shared by text, choice, photo and location: optimistic bubble, then POST.
  async function post(li, send) {
    try {
      showTyping();
      await send();
      li.classList.remove('pending');
      return true;
    } catch (err) {
      hideTyping();
      li.classList.remove('pending');
      li.classList.add('failed');
      showNotice(errorText(err));
      return false;
    }
  }

  // ---- sending ----------------------------------------------------------------
  const charCount = (s) => Array.from(s).length;   // code points, not UTF-16 units

  function checkLength() {
    const tooLong = charCount(el.input.value.trim()) > state.maxChars;
    el.input.setAttribute('aria-invalid', String(tooLong));
    return tooLong;
  }

  async function sendText() {
    const text = el.input.value.trim();
    if (!text) { showNotice(t('empty_message'), 2500); el.input.focus(); return; }
    if (checkLength()) { showNotice(t('too_long')); return; }
    el.input.value = '';
    autoGrow();
    state.lastAction = 'text';
    const li = echo(text);
    const ok = await post(li, () => request('/api/messages', { method: 'POST', json: { text, locale: state.locale } }));
    // Give the text back so it can be resent, unless the user already typed more.
    if (!ok && !el.input.value) { el.input.value = text; autoGrow(); }
  }

  async function sendChoice(opt, version, button) {
    if (button) button.disabled = true;   // avoid double taps sending the choice twice
    state.lastAction = 'choice';
    const li = echo(opt.label);
    await post(li, () => request('/api/messages', {
      method: 'POST', json: { choice: { id: opt.id, version }, locale: state.locale },
    }));
    if (button) button.disabled = false;
  }

  async function sendPhoto(file) {
    const img = document.createElement('img');
    img.alt = file.name;
    img.src = URL.createObjectURL(file);
    img.addEventListener('load', () => URL.revokeObjectURL(img.src), { once: true });
    const li = echo('', img);
    const form = new FormData();
    form.append('file', file, file.name);
    await post(li, () => request('/api/upload', { method: 'POST', body: form, timeoutMs: 120000 }));
  }

  function sendLocation() {
    el.locate.disabled = true;
    navigator.geolocation.getCurrentPosition(
      async (pos) => {
        const lat = pos.coords.latitude;
        const lon = pos.coords.longitude;
        const li = echo(`${lat.toFixed(5)}, ${lon.toFixed(5)}`);
        li.dir = 'ltr';
        await post(li, () => request('/api/location', { method: 'POST', json: { lat, lon } }));
        el.locate.disabled = false;
      },
      () => { el.locate.disabled = false; showNotice(t('sending_failed')); },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
    );
  }

  // ---- receiving --------------------------------------------------------------
  async function receive(messages) {
    for (const m of messages || []) {
      // The user switched language in the chat: re-skin the page first.
      if (m.locale && m.locale !== state.locale) {
        try { await loadUi(); } catch (_) { /* keep old strings; retried on next message */ }
      }
      addMessage(m);
      el.leave.hidden = false;
    }
  }

  async function pollForever() {
    let failures = 0;
    for (;;) {
      try {
        // After an error, probe with wait=0 so "reconnected" shows at once
        // instead of after a full long-poll cycle.
        const wait = failures ? 0 : POLL_WAIT;
        const data = await request(`/api/messages?after=${state.lastId}&wait=${wait}`,
          { timeoutMs: POLL_TIMEOUT_MS });
        if (failures) { showStatus(t('reconnected'), { ok: true, forMs: 3000 }); failures = 0; }
        await receive(data.messages);
        if (Number.isInteger(data.last_id)) state.lastId = Math.max(state.lastId, data.last_id);
      } catch (_) {
        failures += 1;
        showStatus(t('offline'));
        await sleep(Math.min(15000, 1000 * 2 ** (failures - 1)));   // 1, 2, 4, 8, 15 s
      }
    }
  }

  // Load strings + transcript, retrying with the same backoff while offline.
  async function boot() {
    for (let failures = 0; ; failures += 1) {
      try {
        if (!state.locale) await loadUi();
        const data = await request('/api/transcript');
        el.log.textContent = '';
        state.seen.clear();
        state.lastDay = '';
        for (const m of data.messages || []) addMessage(m, { force: true, restoring: true });
        state.lastId = Number.isInteger(data.last_id) ? data.last_id : 0;
        el.log.setAttribute('aria-busy', 'false');
        el.leave.hidden = !(data.messages || []).length;
        el.start.hidden = false;
        if (failures) showStatus(t('reconnected'), { ok: true, forMs: 3000 }); else hideStatus();
        return;
      } catch (_) {
        showStatus(t('offline'));
        await sleep(Math.min(15000, 1000 * 2 ** failures));
      }
    }
  }

  // ---- input wiring -------------------------------------------------------------
  function autoGrow() {
    el.input.style.height = 'auto';
    el.input.style.height = `${el.input.scrollHeight + 2}px`;   // CSS max-height caps it at ~5 lines
  }

  el.input.addEventListener('input', () => {
    autoGrow();
    if (checkLength()) showNotice(t('too_long'));
  });
  el.input.addEventListener('keydown', (e) => {
    // isComposing: don't send while an IME is still composing a word.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(); }
  });
  el.form.addEventListener('submit', (e) => { e.preventDefault(); sendText(); });

  el.photo.addEventListener('click', () => el.file.click());
  el.file.addEventListener('change', () => {
    const file = el.file.files && el.file.files[0];
    el.file.value = '';   // allow picking the same file again
    if (file) sendPhoto(file);
  });

  if ('geolocation' in navigator) {
    el.locate.hidden = false;
    el.locate.addEventListener('click', sendLocation);
  }

  // ---- first screen, leaving, reopening ---------------------------------------------
  el.start.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-start]');
    if (!b) return;
    const option = b.dataset.start;
    if (option === 'follow') {
      el.reopen.hidden = !el.reopen.hidden;
      b.setAttribute('aria-expanded', String(!el.reopen.hidden));
      if (!el.reopen.hidden) $('reopen-reference').focus();
      return;
    }
    const locale = document.documentElement.lang;
    state.pendingStart = { option, locale };
    state.lastAction = 'choice';
    const li = echo(b.textContent);
    post(li, () => request('/api/messages', { method: 'POST', json: { choice: { id: 'go:menu' }, locale } }));
  });

  el.reopen.addEventListener('submit', async (e) => {
    e.preventDefault();
    el.reopenError.hidden = true;
    try {
      const found = await request('/api/reopen', { method: 'POST', json: {
        reference: $('reopen-reference').value, code: $('reopen-code').value } });
      el.reopen.hidden = true;
      addMessage({ id: null, from: 'bot', text: found.text, locale: state.locale, dir: document.documentElement.dir,
        at: new Date().toISOString(), local: localIso(nowLocal()), card: { kind: 'reopened', reference: found.reference, to: found.to,
          received_on: found.received_on, due_on: found.due_on } }, { force: true, restoring: true });
      const status = document.createElement('p');
      status.className = 'card-status';
      status.textContent = `${t('status')}: ${found.status}`;
      el.log.lastElementChild.querySelector('.card dl').after(status);
      el.leave.hidden = false;
    } catch (err) {
      el.reopenError.textContent = errorText(err);
      el.reopenError.hidden = false;
    }
  });

  el.leave.addEventListener('click', async () => {
    if (!window.confirm(t('leave_confirm'))) return;
    try { await request('/api/leave', { method: 'POST', json: {} }); } catch (err) { showNotice(errorText(err)); return; }
    el.log.textContent = '';
    state.seen.clear();
    state.lastDay = '';
    state.lastId = 0;
    el.receiptLink.hidden = true;
    el.leave.hidden = true;
    el.welcome.hidden = false;
    el.scroller.scrollTop = 0;
    showStatus(t('left'), { ok: true, forMs: 8000 });
    el.title.focus();
  });
  el.title.tabIndex = -1;

  boot().then(pollForever);
})();
