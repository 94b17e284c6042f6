// The character page in the admin: add and remove rows of the repeatable editors (voice samples, key/value
// rows...), and switch between the form and the JSON view. Without this file the page still works: every row is
// a plain input with blank ones to fill in, and the "Edit with" choice is a radio button.
(function () {
  "use strict";

  const blankCopy = function (row) {
    const copy = row.cloneNode(true);
    copy.querySelectorAll("input, textarea").forEach(function (input) { input.value = ""; });
    return copy;
  };

  const setUpRows = function (container) {
    const add = container.querySelector(":scope > .authoring-row-add");
    add.hidden = false;
    container.querySelectorAll(".authoring-row-remove").forEach(function (button) { button.hidden = false; });
    container.addEventListener("click", function (event) {
      const target = event.target;
      if (target.classList.contains("authoring-row-remove")) {
        const rows = container.querySelectorAll(":scope > .authoring-row");
        const row = target.closest(".authoring-row");
        if (rows.length > 1) {
          row.remove();
        } else {
          row.querySelectorAll("input, textarea").forEach(function (input) { input.value = ""; });
        }
      } else if (target.classList.contains("authoring-row-add")) {
        const rows = container.querySelectorAll(":scope > .authoring-row");
        const copy = blankCopy(rows[rows.length - 1]);
        container.insertBefore(copy, add);
        const first = copy.querySelector("input, textarea");
        if (first) { first.focus(); }
      }
    });
  };

  const setUpEditor = function (form) {
    const radios = form.querySelectorAll("input[name=editor]");
    if (!radios.length) { return; }
    const show = function () {
      const checked = form.querySelector("input[name=editor]:checked");
      const json = checked && checked.value === "json";
      form.querySelectorAll("fieldset.authoring-form").forEach(function (set) { set.hidden = json; });
      form.querySelectorAll("fieldset.authoring-json").forEach(function (set) { set.hidden = !json; });
      document.body.dataset.authoringEditor = json ? "json" : "form";
    };
    radios.forEach(function (radio) { radio.addEventListener("change", show); });
    show();
  };

  const start = function () {
    document.querySelectorAll(".authoring-rows").forEach(setUpRows);
    const form = document.getElementById("character_form");
    if (form) { setUpEditor(form); }
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
