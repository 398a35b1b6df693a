// Keeps a page's progress parts up to date without reloading it. A timed reload (meta
// refresh) moved a screen reader back to the top of the page every few seconds (WCAG
// 2.2.1); this fetches the same page and replaces only the parts marked
// data-progress-part, while the marker data-progress says data-running. Without
// JavaScript, the page's own "Stand bijwerken" link does the same by hand.
(function () {
  "use strict";
  var marker = document.querySelector("[data-progress]");
  if (!marker || !window.fetch || !window.DOMParser) return;
  var every = 1000 * (parseFloat(marker.getAttribute("data-progress")) || 3);

  function update(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var parts = document.querySelectorAll("[data-progress-part]");
    for (var i = 0; i < parts.length; i++) {
      var twin = fresh.getElementById(parts[i].id);
      if (twin && twin.innerHTML !== parts[i].innerHTML) parts[i].innerHTML = twin.innerHTML;
    }
    var next = fresh.querySelector("[data-progress]");
    return next !== null && next.hasAttribute("data-running"); // else done, or logged out
  }

  function tick() {
    fetch(location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) { if (update(html)) setTimeout(tick, every); })
      .catch(function () { setTimeout(tick, every * 4); }); // offline a moment: try later
  }

  if (marker.hasAttribute("data-running")) setTimeout(tick, every);
}());
