// The calendar page's keys: left and right arrows move a month, "t" comes back to this month.
// The links they follow are plain links (htmx swaps just the month when it is there).
(function () {
  "use strict";
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) { return; }
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA" || t.isContentEditable)) { return; }
    var id = { ArrowLeft: "prev-month", ArrowRight: "next-month", t: "this-month" }[ev.key];
    var link = id && document.getElementById(id);
    if (link) { ev.preventDefault(); link.click(); }
  });
})();
