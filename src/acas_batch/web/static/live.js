// Live parts of a page, without a build step. The server's event stream says "change";
// each element marked data-live-refresh fetches its own part again (htmx, the page's URL
// with HX-Request), and the runs table's "N new runs" control counts what arrived instead
// of shifting rows under the reader. Updates stop while the tab is hidden.
(function () {
  "use strict";
  var source = null;
  var updatedAt = Date.now();

  // Never replace a form someone is filling in: the next change refreshes it.
  function busy(el) {
    if (el.contains(document.activeElement) && document.activeElement !== document.body) { return true; }
    return Array.prototype.some.call(el.querySelectorAll("input[type=text], input:not([type]), textarea"),
      function (i) { return i.value !== ""; });
  }

  // A refresh asked for before someone started typing must not land on what they typed either.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var el = evt.detail.target;
    if (el && el.hasAttribute && el.hasAttribute("data-live-refresh") && busy(el)) {
      evt.detail.shouldSwap = false;
    }
  });

  function refresh() {
    var parts = document.querySelectorAll("[data-live-refresh]");
    parts.forEach(function (el) {
      if (busy(el)) { return; }
      var url = el.getAttribute("data-live-refresh") || window.location.href;
      htmx.ajax("GET", url, { target: el, swap: "outerHTML" }).then(function () { updatedAt = Date.now(); });
    });
    if (!parts.length) { updatedAt = Date.now(); }
  }

  function open() {
    if (source || !document.body.hasAttribute("data-live")) { return; }
    source = new EventSource("/live/events");
    source.addEventListener("change", refresh);
    source.addEventListener("tick", function () { updatedAt = Date.now(); });
    // The first event of a new stream: what changed between the page's render and now is fetched.
    source.addEventListener("hello", refresh);
  }

  function close() {
    if (source) { source.close(); source = null; }
  }

  function tickClock() {
    var el = document.getElementById("updated");
    if (!el) { return; }
    if (document.hidden) { el.textContent = "paused while hidden"; return; }
    var s = Math.max(0, Math.round((Date.now() - updatedAt) / 1000));
    el.textContent = "updated " + s + " s ago";
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { close(); } else { open(); refresh(); }
    tickClock();
  });
  document.addEventListener("DOMContentLoaded", function () {
    open();
    tickClock();
    window.setInterval(tickClock, 1000);
  });
})();
