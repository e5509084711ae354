// A few lines for what a page must update by itself: an import's progress bar, a rebuild's progress.
"use strict";
(function () {
  function poll(el, every, update) {
    var url = el.getAttribute("data-progress-url");
    if (!url) { return; }
    var tick = function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && update(data)) { setTimeout(tick, every); } })
        .catch(function () { setTimeout(tick, every * 3); });
    };
    setTimeout(tick, every);
  }
  var job = document.getElementById("import-job");
  if (job && job.getAttribute("data-status") !== "done" && job.getAttribute("data-status") !== "failed") {
    poll(job, 700, function (data) {
      var bar = document.getElementById("import-progress");
      var text = document.getElementById("import-progress-text");
      bar.max = data.total || 1; bar.value = data.processed || 0;
      text.textContent = text.getAttribute("data-vi").replace("{processed}", data.processed || 0).replace("{total}", data.total || 0);
      if (data.status === "done" || data.status === "failed") { window.location.reload(); return false; }
      return true;
    });
  }
  var projections = document.getElementById("projections");
  if (projections) {
    poll(projections, 1500, function (data) {
      var bar = document.getElementById("rebuild-bar");
      var p = data.progress;
      if (p && p.total) { bar.max = p.total; bar.value = p.applied || p.done || 0; }
      else { bar.max = 100; bar.value = data.state === "live" ? 100 : 0; }
      return true;
    });
  }
})();
