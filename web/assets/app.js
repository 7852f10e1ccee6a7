// blink2mqtt status page: keeps the page current without reloading it and
// sends the forms in the background. Without this script the page still
// works: it is complete as served, and the forms post normally.
'use strict';

(function () {
  var EVERY = 3000;      // refresh interval while the page is visible
  var SLOWEST = 30000;   // back-off ceiling while the bridge does not answer
  var delay = EVERY;
  var timer = null;
  var served = {};       // section id → the HTML the server sent last

  function ago(ms) {
    var s = Math.round(ms / 1000);
    if (s < 0) return 'in ' + span(-s);
    return span(s) + ' ago';
  }

  function span(s) {
    if (s < 90) return s + ' s';
    if (s < 5400) return Math.round(s / 60) + ' min';
    if (s < 129600) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' days';
  }

  // Times arrive in UTC; show them in the browser's time zone.
  function localize(root) {
    var now = Date.now();
    root.querySelectorAll('time[datetime]').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (isNaN(d.getTime())) return;
      t.textContent = d.toLocaleString() + ' (' + ago(now - d.getTime()) + ')';
      t.title = t.getAttribute('datetime');
    });
  }

  function remember() {
    document.querySelectorAll('[data-live]').forEach(function (el) {
      served[el.id] = el.innerHTML;
    });
  }

  // The form section is replaced only when the form itself changes, so
  // what someone is typing survives a refresh.
  function formKey(el) {
    return el.getAttribute('data-mode') + '/' + el.getAttribute('data-can-change');
  }

  function apply(doc) {
    document.querySelectorAll('[data-live]').forEach(function (el) {
      var next = doc.getElementById(el.id);
      if (!next) return;
      if (el.id === 'forms') {
        if (formKey(el) === formKey(next)) return;
      } else if (served[el.id] === next.innerHTML) {
        return;
      }
      var fresh = document.importNode(next, true);
      el.replaceWith(fresh);
      served[fresh.id] = next.innerHTML;
      localize(fresh);
    });
  }

  function setLive(text, bad) {
    var el = document.getElementById('live');
    if (!el) return;
    el.textContent = text;
    el.className = 'live' + (bad ? ' bad' : '');
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (!document.hidden) timer = setTimeout(refresh, delay);
  }

  function refresh() {
    return fetch('./', { cache: 'no-cache', credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text();
      })
      .then(function (html) {
        apply(new DOMParser().parseFromString(html, 'text/html'));
        localize(document);
        delay = EVERY;
        setLive('updated ' + new Date().toLocaleTimeString(), false);
      })
      .catch(function (e) {
        delay = Math.min(delay * 2, SLOWEST);
        setLive('the bridge is not answering (' + e.message + '); retrying', true);
      })
      .then(schedule);
  }

  function showMessage(text, ok) {
    var el = document.getElementById('message');
    if (!el) return;
    el.textContent = text;
    el.className = 'message ' + (ok ? 'ok' : 'bad');
    el.hidden = !text;
  }

  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.closest('#forms')) return;
    ev.preventDefault();
    var button = form.querySelector('button[type=submit]');
    if (button) button.disabled = true;
    showMessage('Working…', true);
    fetch(form.getAttribute('action'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json' },
      body: new URLSearchParams(new FormData(form))
    })
      .then(function (r) {
        return r.json().catch(function () { return { ok: false, message: 'The bridge answered HTTP ' + r.status + '.' }; });
      })
      .then(function (a) {
        showMessage(a.message || '', a.ok);
        if (a.ok) form.reset();
      })
      .catch(function (e) {
        showMessage('The bridge did not answer: ' + e.message, false);
      })
      .then(function () {
        if (button) button.disabled = false;
        return refresh();
      });
  });

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) refresh(); else schedule();
  });

  remember();
  localize(document);
  schedule();
})();
