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
