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
    title: $('title'), status: $('status'), scroller: $('scroller'), intro: $('intro'),
    log: $('log'), notice: $('notice'), form: $('composer'), input: $('input'),
    inputLabel: $('input-label'), send: $('send'), sendLabel: $('send-label'),
    photo: $('photo'), file: $('file'), locate: $('locate'),
  };

  const state = { locale: null, strings: {}, lastId: 0, seen: new Set(), uiLoading: null };
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
    el.intro.textContent = t('intro');
    el.intro.hidden = !t('intro');
  }

  // Coalesce concurrent reloads (several messages may announce the new locale).
  function loadUi() {
    if (!state.uiLoading) {
      state.uiLoading = request('/api/ui').then(applyUi).finally(() => { state.uiLoading = null; });
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
  let pinned = true;
  const nearBottom = () =>
    el.scroller.scrollHeight - el.scroller.scrollTop - el.scroller.clientHeight < NEAR_BOTTOM_PX;
  const scrollToEnd = () => { el.scroller.scrollTop = el.scroller.scrollHeight; };
  el.scroller.addEventListener('scroll', () => { pinned = nearBottom(); }, { passive: true });
  if ('ResizeObserver' in window) {
    const ro = new ResizeObserver(() => { if (pinned) scrollToEnd(); });
    ro.observe(el.scroller);
    ro.observe(el.log);
  }

  function formatTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    // ar-MA keeps Latin digits, as commonly used in Morocco.
    const loc = state.locale === 'fr' ? 'fr-MA' : 'ar-MA';
    try { return d.toLocaleTimeString(loc, { hour: '2-digit', minute: '2-digit' }); } catch (_) { return ''; }
  }

  // Builds one <li>. m.node (a photo preview) replaces m.text when present.
  function addMessage(m, { force = false } = {}) {
    if (m.id != null) {
      if (state.seen.has(m.id)) return null;
      state.seen.add(m.id);
    }
    const li = document.createElement('li');
    li.className = `msg msg-${m.from === 'user' ? 'user' : 'bot'}`;
    li.dir = m.dir === 'rtl' || m.dir === 'ltr' ? m.dir : 'auto';
    if (m.locale) li.lang = m.locale;

    const bubble = document.createElement('div');
    bubble.className = 'bubble';
    if (m.node) { bubble.classList.add('photo'); bubble.append(m.node); }
    else bubble.textContent = m.text || '';
    for (const f of Array.isArray(m.files) ? m.files : []) {
      // Documents attached to an answer: a link per file, served only to whoever may see it.
      const a = document.createElement('a');
      a.href = f.url; a.target = '_blank'; a.rel = 'noopener'; a.className = 'file';
      a.textContent = f.kind === 'photo' ? '🖼️ ' + (f.id ?? '') : '📄 ' + (f.id ?? '');
      bubble.append(document.createElement('br'), a);
    }
    li.append(bubble);

    if (m.at) {
      const time = document.createElement('time');
      time.dateTime = m.at;
      time.textContent = formatTime(m.at);
      li.append(time);
    }

    if (m.from === 'bot') {
      // A newer bot message exists now: dim (but keep usable) older menus.
      el.log.querySelectorAll('.options:not(.stale)').forEach((o) => o.classList.add('stale'));
      if (Array.isArray(m.options) && m.options.length) li.append(renderOptions(m));
    }

    if (force) pinned = true;
    el.log.append(li);
    if (pinned) scrollToEnd();
    return li;
  }

  function renderOptions(m) {
    const box = document.createElement('div');
    box.className = 'options';
    for (const opt of m.options) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = opt.label;
      b.addEventListener('click', () => sendChoice(opt, m.version, b));
      box.append(b);
    }
    return box;
  }

  function echo(text, node) {
    const li = addMessage(
      { id: null, from: 'user', text, node, locale: state.locale,
        dir: document.documentElement.dir, at: new Date().toISOString() },
      { force: true });
    li.classList.add('pending');
    return li;
  }

  // Shared by text, choice, photo and location: optimistic bubble, then POST.
  async function post(li, send) {
    try {
      await send();
      li.classList.remove('pending');
      return true;
    } catch (err) {
      li.classList.remove('pending');
      li.classList.add('failed');
      showNotice(errorText(err));
      return false;
    }
  }

  // ---- sending ----------------------------------------------------------------
  const charCount = (s) => Array.from(s).length;   // code points, not UTF-16 units

  function checkLength() {
    const tooLong = charCount(el.input.value.trim()) > MAX_CHARS;
    el.input.setAttribute('aria-invalid', String(tooLong));
    return tooLong;
  }

  async function sendText() {
    const text = el.input.value.trim();
    if (!text) { showNotice(t('empty_message'), 2500); el.input.focus(); return; }
    if (checkLength()) { showNotice(t('too_long')); return; }
    el.input.value = '';
    autoGrow();
    const li = echo(text);
    const ok = await post(li, () => request('/api/messages', { method: 'POST', json: { text } }));
    // Give the text back so it can be resent, unless the user already typed more.
    if (!ok && !el.input.value) { el.input.value = text; autoGrow(); }
  }

  async function sendChoice(opt, version, button) {
    button.disabled = true;   // avoid double taps sending the choice twice
    const li = echo(opt.label);
    await post(li, () => request('/api/messages', {
      method: 'POST', json: { choice: { id: opt.id, version } },
    }));
    button.disabled = false;
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
        for (const m of data.messages || []) addMessage(m, { force: true });
        state.lastId = Number.isInteger(data.last_id) ? data.last_id : 0;
        el.log.setAttribute('aria-busy', 'false');
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

  boot().then(pollForever);
})();
