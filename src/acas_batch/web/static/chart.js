// The job page's duration chart (uPlot): one point per finished run, coloured by outcome,
// with the job's p50 and p95 as lines.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("history-chart");
    if (!el || !window.uPlot) { return; }
    var d = JSON.parse(el.getAttribute("data-chart"));
    if (!d.x.length) { return; }
    var colours = { succeeded: "#1d7a46", warning: "#a66300", failed: "#b3261e", timed_out: "#b3261e", cancelled: "#6b7280", skipped: "#6b7280" };
    var xLo = Math.min.apply(null, d.x), xHi = Math.max.apply(null, d.x);
    var pad = Math.max(86400, (xHi - xLo) * 0.04);
    var p50 = d.x.map(function () { return d.p50; });
    var p95 = d.x.map(function () { return d.p95; });
    var opts = {
      width: Math.max(320, el.clientWidth), height: 220,
      // Axis times in the viewer's zone (the page's), not the browser's.
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), d.zone); },
      // The x range from the data itself: one run (or runs close together) gets a day either side.
      scales: { x: { time: true, range: function () { return [xLo - pad, xHi + pad]; } } },
      axes: [{}, { label: "seconds" }],
      series: [
        {},
        { label: "duration", stroke: "#1f5fbf", width: 0, points: { show: true, size: 7, fill: function (u, si) { return "#1f5fbf"; } },
          paths: function () { return null; } },
        { label: "p50", stroke: "#8fa0b8", dash: [4, 4], points: { show: false } },
        { label: "p95", stroke: "#a66300", dash: [2, 4], points: { show: false } }
      ],
      hooks: { draw: [function (u) {
        var ctx = u.ctx;
        for (var i = 0; i < d.x.length; i++) {
          var cx = u.valToPos(d.x[i], "x", true), cy = u.valToPos(d.y[i], "y", true);
          ctx.fillStyle = colours[d.state[i]] || "#1f5fbf";
          ctx.beginPath(); ctx.arc(cx, cy, 4 * devicePixelRatio, 0, 2 * Math.PI); ctx.fill();
        }
      }] }
    };
    new uPlot(opts, [d.x, d.y, p50, p95], el);
  });
})();
