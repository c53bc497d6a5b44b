// Client-side lock: after the idle timeout the page reloads, and the server (which tracks
// idle time itself) answers with the sign-in page. Nothing on screen outlives the session.
(function () {
  "use strict";
  var body = document.body;
  var minutes = parseInt(body.getAttribute("data-idle-minutes") || "0", 10);
  if (!minutes) { return; }
  var timer = null;
  function arm() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { window.location.reload(); }, minutes * 60 * 1000 + 5000);
  }
  ["keydown", "mousedown", "touchstart", "scroll"].forEach(function (name) {
    document.addEventListener(name, arm, { passive: true });
  });
  arm();
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
