// Bab on a collectivity's own site: <script src="https://BAB/embed.js" data-place="CODE" async></script>
// puts the chat in an iframe at the script's place, with that collectivity preselected. The collectivity's
// origin must be in Bab's BAB_EMBED_ORIGINS, or the browser refuses to show the frame.
'use strict';
(() => {
  const script = document.currentScript;
  if (!script) return;
  const origin = new URL(script.src).origin;
  const params = new URLSearchParams();
  if (script.dataset.place) params.set('place', script.dataset.place);
  if (script.dataset.lang) params.set('lang', script.dataset.lang);
  const frame = document.createElement('iframe');
  frame.src = `${origin}/?${params}`;
  frame.title = script.dataset.title || 'Bab';
  frame.allow = 'geolocation; clipboard-write';
  frame.style.cssText = 'width:100%;max-width:420px;height:640px;border:1px solid #d6d1c4;border-radius:12px';
  frame.loading = 'lazy';
  script.after(frame);
})();
