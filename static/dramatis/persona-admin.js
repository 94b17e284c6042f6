// The persona page (admin/personas/characterpersona/change_form.html): keeps each slider's value shown, lets
// facets follow their trait until moved, fills the inputs from a picked preset, adds/removes goal rows, and
// asks the server (debounced) what the engine derives from the inputs: the emotion config and resting mood,
// or the errors beside their inputs. The derivation is the engine's own (Python); nothing is computed here.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var editor = document.getElementById("persona-editor");
    if (!editor) return;
    var form = editor.closest("form");
    var presets = JSON.parse(document.getElementById("persona-presets").textContent);
    var neutral = parseFloat(editor.dataset.neutral);
    var previewUrl = editor.dataset.previewUrl;
    var timer = null;
    var sequence = 0;

    function show(slider) {
      var output = slider.parentNode.querySelector('output[for="' + slider.id + '"]');
      if (output) output.textContent = parseFloat(slider.value).toFixed(2);
    }

    function facetsOf(domain) {
      return form.querySelectorAll('input[type=range][data-trait="' + domain + '"]');
    }

    function setTrait(domain, value) {
      var slider = form.querySelector('input[name="trait_' + domain + '"]');
      if (!slider) return;
      slider.value = value;
      show(slider);
      follow(domain, slider.value);
    }

    function follow(domain, value) {
      facetsOf(domain).forEach(function (facet) {
        if (facet.dataset.own === "1") return;
        facet.value = value;
        show(facet);
      });
    }

    function rowsOf(name) {
      return form.querySelector('.persona-rows[data-name="' + name + '"]');
    }

    function addRow(box, value) {
      var row = document.createElement("div");
      row.className = "persona-row";
      var input = document.createElement("input");
      input.type = "text";
      input.name = box.dataset.name;
      input.className = "vTextField";
      input.value = value || "";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "persona-row-remove";
      remove.title = "Remove";
      remove.textContent = "\u00d7";
      row.appendChild(input);
      row.appendChild(remove);
      box.insertBefore(row, box.querySelector(".persona-row-add"));
      return input;
    }

    function setRows(name, values) {
      var box = rowsOf(name);
      if (!box) return;
      box.querySelectorAll(".persona-row").forEach(function (row) { row.remove(); });
      values.forEach(function (value) { addRow(box, value); });
    }

    function applyPreset(id) {
      var preset = presets[id];
      if (!preset) return;  // "custom": keep what is there
      ["O", "C", "E", "A", "N", "H"].forEach(function (domain) {
        form.querySelectorAll('input[type=range][data-trait="' + domain + '"]').forEach(function (facet) {
          delete facet.dataset.own;
        });
        var value = preset.personality[domain];
        setTrait(domain, value === undefined ? neutral : value);
      });
      setRows("goals", preset.goals);
    }

    function clearErrors() {
      form.querySelectorAll(".persona-live-errors").forEach(function (list) { list.innerHTML = ""; });
      document.getElementById("persona-preview-errors").innerHTML = "";
    }

    function errorListFor(name) {
      var list = form.querySelector('[data-errors-for="' + name + '"]');
      if (list) return list;
      var row = form.querySelector(".form-row.field-" + name);
      if (!row) return null;
      list = document.createElement("ul");
      list.className = "errorlist persona-live-errors";
      list.dataset.errorsFor = name;
      row.insertBefore(list, row.firstChild);
      return list;
    }

    function showErrors(errors) {
      var general = document.getElementById("persona-preview-errors");
      Object.keys(errors).forEach(function (name) {
        var list = errorListFor(name) || general;
        errors[name].forEach(function (message) {
          var item = document.createElement("li");
          item.textContent = list === general ? name + ": " + message : message;
          list.appendChild(item);
        });
        var slider = form.querySelector('input[type=range][name="' + name + '"]');
        if (slider && slider.dataset.trait) {
          var details = slider.closest("details");
          if (details) details.open = true;
        }
      });
    }

    function placeholders(config) {
      form.querySelectorAll('input[name^="ec_"]').forEach(function (input) {
        var value = config;
        input.name.slice(3).split("__").forEach(function (key) {
          value = value === undefined || value === null ? undefined : value[key];
        });
        if (typeof value === "number") input.placeholder = String(value);
      });
      form.querySelectorAll('select[name^="ec_"]').forEach(function (select) {
        var value = config;
        select.name.slice(3).split("__").forEach(function (key) { value = value ? value[key] : undefined; });
        var first = select.options[0];
        if (first && first.value === "" && value) first.textContent = "derived: " + value;
      });
    }

    function showPreview(data) {
      var mood = data.resting_mood;
      var vad = mood.emotion;
      var box = document.getElementById("persona-preview-mood");
      box.innerHTML = "";
      var line = document.createElement("p");
      line.id = "persona-preview-resting";
      line.innerHTML = "Resting mood: <strong></strong> <span class='help'></span>";
      line.querySelector("strong").textContent = mood.discrete_emotion.primary +
        (mood.discrete_emotion.secondary ? " / " + mood.discrete_emotion.secondary : "");
      line.querySelector("span").textContent = "V " + vad.V.toFixed(3) + " \u00b7 A " + vad.A.toFixed(3) +
        " \u00b7 D " + vad.D.toFixed(3);
      box.appendChild(line);
      var config = data.emotion_config;
      var summary = document.createElement("p");
      summary.id = "persona-preview-summary";
      summary.textContent = "Regulation: " + config.regulation.strategy + " (capacity " +
        config.regulation.capacity.toFixed(2) + ") \u00b7 sensitivity " + config.sensitivity.toFixed(2) +
        " \u00b7 negativity bias " + config.negativity_bias.toFixed(2) + " \u00b7 attachment " +
        config.attachment_style + " \u00b7 initial trust " + config.trust.initial.toFixed(2);
      box.appendChild(summary);
      document.getElementById("persona-preview-config").textContent = JSON.stringify(config, null, 2);
      document.getElementById("persona-preview-spec").textContent = JSON.stringify(data.spec, null, 2);
      placeholders(config);
    }

    function preview() {
      var mine = ++sequence;
      var body = new FormData(form);
      var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
      editor.dataset.previewState = "pending";
      fetch(previewUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, "X-Requested-With": "XMLHttpRequest" }
      }).then(function (response) {
        return response.json();
      }).then(function (data) {
        if (mine !== sequence) return;  // a later edit's answer is on its way
        clearErrors();
        if (data.ok) showPreview(data);
        else showErrors(data.errors || {});
        editor.dataset.previewState = data.ok ? "ok" : "invalid";
        editor.dataset.previewCount = String(parseInt(editor.dataset.previewCount || "0", 10) + 1);
      }).catch(function () {
        if (mine === sequence) editor.dataset.previewState = "failed";
      });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(preview, 250);
    }

    form.addEventListener("input", function (event) {
      var target = event.target;
      if (target.type === "range") {
        show(target);
        if (target.dataset.trait) target.dataset.own = "1";
        else if (target.name.indexOf("trait_") === 0) follow(target.name.slice(6), target.value);
      }
      schedule();
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "preset") applyPreset(event.target.value);
      schedule();
    });
    form.addEventListener("click", function (event) {
      var target = event.target;
      if (target.classList.contains("persona-row-add")) {
        addRow(target.closest(".persona-rows")).focus();
      } else if (target.classList.contains("persona-row-remove")) {
        target.closest(".persona-row").remove();
        schedule();
      }
    });
    // The character picker is a select2 autocomplete: it announces changes through jQuery only.
    if (window.django && window.django.jQuery) window.django.jQuery(form).on("change", "select", schedule);
    form.querySelectorAll("input[type=range]").forEach(show);
    preview();
  });
})();
