// The Try-it page (admin/conversations/try.html): while the turn is queued or running, fetch its outcome again
// (the same page with &partial=1) and swap it in, until the worker has written the reply or the failure.
(function () {
  "use strict";
  function poll(box, delay) {
    var turn = box.querySelector("#try-turn");
    if (!turn || turn.dataset.finished === "1") return;
    setTimeout(function () {
      fetch(box.dataset.partialUrl, { credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) { box.innerHTML = html; poll(box, Math.min(delay * 1.5, 2000)); })
        .catch(function () { poll(box, 2000); });
    }, delay);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("try-turn-box");
    if (box) poll(box, 250);
  });
})();
