// Idle time, shared by every tab of the app (localStorage): activity in one tab counts for all.
// - Screen lock (users/lock.py): after data-lock-minutes without activity the page covers
//   itself (what was typed stays underneath, unseen and inert) and tells the server, which then
//   shows every other page as locked until the user confirms it's them (in a new tab). The
//   covered page asks the server whether the lock has lifted when it regains focus or another
//   tab reports an unlock, and uncovers itself.
// - Sign-out: after data-idle-minutes the page reloads, and the server (which tracks idle time
//   itself) answers with the sign-in page. Nothing on screen outlives the session.
// - Typing is activity: while the user types or clicks on a page that loads nothing, the page
//   tells the server about once a minute (data-alive-url), so a long note is not signed out.
(function () {
  "use strict";
  var body = document.body;
  var idleMinutes = parseInt(body.getAttribute("data-idle-minutes") || "0", 10);
  if (!idleMinutes) { return; }
  var lockMinutes = parseInt(body.getAttribute("data-lock-minutes") || "0", 10);
  var lockPage = body.getAttribute("data-lock-page");
  var ACTIVITY = "iop.activity", LOCKED = "iop.locked", UNLOCKED = "iop.unlocked";
  var lastLocal = Date.now();
  var lastPing = lastLocal;  // loading this page was activity on the server
  var locked = false;
  var cover = null;

  function store(key, value) {
    try { window.localStorage.setItem(key, String(value)); } catch (e) { /* private mode: this tab only */ }
  }
  function read(key) {
    try { return parseInt(window.localStorage.getItem(key) || "0", 10) || 0; } catch (e) { return 0; }
  }
  function lastActivity() { return Math.max(lastLocal, read(ACTIVITY)); }
  function csrfToken() {
    try { return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function coverPage() {
    if (cover) { return; }
    var template = document.getElementById("screen-lock-template");
    if (!template) { return; }
    cover = template.content.firstElementChild.cloneNode(true);
    Array.prototype.forEach.call(body.children, function (child) { child.setAttribute("inert", ""); });
    body.appendChild(cover);
    body.classList.add("is-locked");
    var link = cover.querySelector("a");
    if (link) { link.focus(); }
  }
  function uncoverPage() {
    if (!cover) { return; }
    cover.remove();
    cover = null;
    body.classList.remove("is-locked");
    Array.prototype.forEach.call(body.children, function (child) { child.removeAttribute("inert"); });
  }

  function lock(tellServer) {
    if (locked) { return; }
    locked = true;
    coverPage();
    if (tellServer) {
      store(LOCKED, Date.now());
      fetch(body.getAttribute("data-lock-url"), {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() }
      }).catch(function () { /* offline: the page stays covered; the server signs out in time */ });
    }
  }
  function checkUnlocked() {
    if (!locked) { return; }
    fetch(body.getAttribute("data-lock-status-url"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (!state.signed_in) { window.location.reload(); return; }
        if (!state.locked) {
          locked = false;
          uncoverPage();
          lastLocal = Date.now();
          store(ACTIVITY, lastLocal);
        }
      })
      .catch(function () { /* try again on the next focus */ });
  }

  function activity() {
    if (locked) { return; }
    var now = Date.now();
    if (now - lastLocal > 1000) {
      lastLocal = now;
      store(ACTIVITY, now);
    }
  }
  ["keydown", "mousedown", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true });
  });
  store(ACTIVITY, lastLocal);

  if (lockPage === "unlocked") {
    store(UNLOCKED, Date.now());  // the covered tabs check and uncover
  }
  window.addEventListener("storage", function (event) {
    if (event.key === LOCKED && lockMinutes && !lockPage) { lock(false); }
    if (event.key === UNLOCKED) { checkUnlocked(); }
  });
  window.addEventListener("focus", checkUnlocked);

  function tick() {
    var idle = Date.now() - lastActivity();
    if (idle > idleMinutes * 60 * 1000 + 5000) {
      window.location.reload();
      return;
    }
    if (lockMinutes && !lockPage && !locked && idle >= lockMinutes * 60 * 1000) {
      lock(true);
      return;
    }
    if (!locked && lastLocal > lastPing && Date.now() - lastPing >= 60 * 1000) {
      lastPing = Date.now();
      fetch(body.getAttribute("data-alive-url"), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (state) { if (state.signed_in && state.locked && lockMinutes) { lock(false); } })
        .catch(function () { /* offline: the next save tells */ });
    }
  }
  window.setInterval(tick, 5000);
})();

// Narrow screens (a tablet at roll-call): the main navigation folds behind a "Menu" button so
// the page starts at the top. Without script, or on wide screens, every link stays visible.
(function () {
  "use strict";
  var nav = document.getElementById("mainnav");
  if (!nav) { return; }
  var button = nav.querySelector(".navtoggle");
  var narrow = window.matchMedia("(max-width: 63.99rem)");
  function setOpen(open) {
    nav.classList.toggle("collapsed", !open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  function fit() {
    button.hidden = !narrow.matches;
    setOpen(!narrow.matches);
  }
  button.addEventListener("click", function () { setOpen(nav.classList.contains("collapsed")); });
  if (narrow.addEventListener) { narrow.addEventListener("change", fit); }
  fit();
})();
