// The NPC machine pages in the admin: draw each machine diagram from its Mermaid text, in the browser
// (the vendored build, loaded just before this file). The text was written by apps/npcs/diagram.py.
(function () {
  "use strict";
  if (!window.mermaid) {
    return;
  }
  const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: dark ? "dark" : "default" });
  const draw = function () {
    window.mermaid
      .run({ querySelector: ".npc-diagram" })
      .then(function () { document.body.dataset.npcDiagram = "drawn"; })
      .catch(function (error) { document.body.dataset.npcDiagram = "failed: " + error; });
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
