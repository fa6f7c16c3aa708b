// imageshare stations: what every page's script shares. The CSRF token is
// in <meta name="csrf-token">; every request that changes something sends
// it in the X-CSRF-Token header. Answers are JSON; an answer that is not
// 2xx becomes an Error carrying the server's plain-words message.
(function () {
  "use strict";
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  async function answer(res) {
    var body = null;
    var type = res.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") === 0) {
      body = await res.json();
    } else {
      body = { error: (await res.text()).trim() };
    }
    if (!res.ok) {
      var err = new Error((body && body.error) || ("the station answered " + res.status));
      err.status = res.status;
      err.body = body;
      throw err;
    }
    return body;
  }
  async function post(url, obj) {
    var res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: JSON.stringify(obj || {}),
      credentials: "same-origin",
      cache: "no-store",
    });
    return answer(res);
  }
  async function postForm(url, formData) {
    var res = await fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" },
      body: formData,
      credentials: "same-origin",
      cache: "no-store",
    });
    return answer(res);
  }
  async function getJSON(url) {
    var res = await fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" });
    return answer(res);
  }
  // text sets an element's text; the pages never build HTML from data.
  function text(el, s) {
    if (typeof el === "string") el = document.getElementById(el);
    if (el) el.textContent = s == null ? "" : String(s);
    return el;
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function bytes(n) {
    if (n == null) return "";
    var u = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + " " + u[i];
  }
  function duration(s) {
    if (s == null || !isFinite(s)) return "";
    s = Math.round(s);
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min " + (s % 60) + " s";
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
  }
  // poll calls onState with each new state of url (a long poll:
  // url?since=N answers once the state's version is past N), until stop()
  // is called. A failed poll is tried again after a pause.
  function poll(url, onState, onError) {
    var since = 0, stopped = false;
    (async function loop() {
      while (!stopped) {
        try {
          var st = await getJSON(url + (url.indexOf("?") < 0 ? "?" : "&") + "since=" + since);
          if (st && typeof st.version === "number") since = st.version;
          onState(st);
        } catch (e) {
          if (onError) onError(e);
          await new Promise(function (r) { setTimeout(r, 2000); });
        }
      }
    })();
    return { stop: function () { stopped = true; } };
  }
  window.Station = { csrf: csrf, post: post, postForm: postForm, getJSON: getJSON, text: text, el: el, bytes: bytes, duration: duration, poll: poll };
})();
