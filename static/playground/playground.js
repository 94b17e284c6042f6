// The playground (templates/playground/index.html): open a session with a character or an NPC, send messages, and
// show what the session's event stream (the native SSE) carries: the reply as it is written (message.delta), its
// bubbles (message.created), selfies (image.ready), the emotion (emotion.updated) and the NPC's state
// (npc.state_changed, npc.machine_completed). Each reply offers its prompt context (GET .../runs/<id>/context).
// No library, no build step; it talks only to the server that served it.
(function () {
  "use strict";

  var root, base, csrf;
  var current = null; // {appId, session, source, lastCursor, pendingUser: [], replies: {}}

  function $(id) { return document.getElementById(id); }

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function status(text) { $("pg-status").textContent = text; }

  function request(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrf;
      options.body = JSON.stringify(body || {});
    }
    return fetch(base + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var detail = data.detail || {};
          var error = new Error(detail.message || ("HTTP " + response.status));
          error.code = detail.code;
          error.fix = detail.fix;
          throw error;
        }
        return data;
      });
    });
  }

  function sessionPath(suffix) {
    return "apps/" + encodeURIComponent(current.appId) + "/sessions/" + encodeURIComponent(current.session.id) + "/" + suffix;
  }

  // -- the app's characters and NPCs ------------------------------------------------------------------------

  function loadCast() {
    var select = $("pg-cast");
    select.textContent = "";
    var appId = $("pg-app").value;
    if (!appId) { status("There is no app yet: create one in the admin."); return; }
    request("GET", "apps/" + encodeURIComponent(appId) + "/cast").then(function (data) {
      var groups = [["Characters", "character", data.characters, "display_name"], ["NPC scenarios", "npc", data.npcs, "name"]];
      groups.forEach(function (group) {
        if (!group[2].length) return;
        var optgroup = make("optgroup");
        optgroup.label = group[0];
        group[2].forEach(function (item) {
          var option = make("option", null, item[group[3]] + (item.slug ? " (" + item.slug + ")" : ""));
          option.value = group[1] + ":" + item.id;
          optgroup.appendChild(option);
        });
        select.appendChild(optgroup);
      });
      root.dataset.castLoaded = "1";
      status(select.options.length ? "Pick a character and open a session." : "This app has no published character yet.");
    }).catch(function (error) { status("Could not list the app's characters: " + error.message); });
  }

  // -- opening a session ------------------------------------------------------------------------------------

  function openSession(restart) {
    var choice = $("pg-cast").value.split(":");
    if (choice.length !== 2) { status("Pick a character or an NPC first."); return; }
    var body = { end_user_ref: $("pg-user").value, restart: !!restart };
    body[choice[0] === "npc" ? "npc_id" : "character_id"] = choice[1];
    var appId = $("pg-app").value;
    status("Opening…");
    request("POST", "apps/" + encodeURIComponent(appId) + "/sessions", body).then(function (data) {
      close();
      current = { appId: appId, session: data.session, source: null, lastCursor: 0, pendingUser: [], replies: {} };
      $("pg-log").textContent = "";
      $("pg-session").textContent = "· " + data.session.character.display_name + " · " + data.session.id;
      $("pg-restart").hidden = data.session.kind !== "npc";
      $("pg-npc").hidden = data.session.kind !== "npc";
      if (data.npc) showNpc(data.npc);
      showEmotion(data.emotion, false);
      $("pg-text").disabled = false;
      $("pg-send-button").disabled = false;
      root.dataset.sessionId = data.session.id;
      root.dataset.kind = data.session.kind;
      connect(data.stream_url);
      status("Connected to " + data.session.character.display_name + " as " + data.session.end_user_ref + ".");
      $("pg-text").focus();
    }).catch(function (error) { status("Could not open the session: " + error.message); });
  }

  function close() {
    if (current && current.source) current.source.close();
    current = null;
    root.dataset.state = "idle";
  }

  // -- the stream -----------------------------------------------------------------------------------------

  function connect(url) {
    var session = current;
    var source = new EventSource(url);
    session.source = source;
    source.onopen = function () { root.dataset.state = "open"; };
    source.onmessage = function (message) { if (session === current) onEvent(JSON.parse(message.data)); };
    source.addEventListener("message.delta", function (message) {
      if (session === current) onDelta(JSON.parse(message.data));
    });
    source.onerror = function () {
      if (session !== current || source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      // Refused (most likely the stream token expired): mint a new one and resume after the last event seen.
      root.dataset.state = "reconnecting";
      setTimeout(function () {
        if (session !== current) return;
        request("POST", sessionPath("stream-token?since=" + session.lastCursor)).then(function (data) {
          if (session === current) connect(data.stream_url);
        }).catch(function (error) { status("The stream closed: " + error.message); });
      }, 1000);
    };
  }

  function onEvent(event) {
    if (event.cursor <= current.lastCursor) return; // already shown (a reconnect replays from the log)
    current.lastCursor = event.cursor;
    root.dataset.lastCursor = String(event.cursor);
    var payload = event.payload || {};
    switch (event.event_type) {
      case "message.created":
      case "character.initiated":
        if (event.role === "user") userMessage(payload.text, event.cursor);
        else characterMessage(event, payload);
        break;
      case "emotion.updated": showEmotion(payload, true); break;
      case "npc.state_changed": showNpc(payload); break;
      case "npc.machine_completed": showNpc({ outcome: payload.outcome, score: payload.score, state_key: payload.state_key }); break;
      case "image.ready": imageReady(payload); break;
      case "image.failed": imageFailed(payload); break;
      case "run.status": if (payload.status === "generating") status("Generating a reply…"); break;
      case "run.failed": failure(payload); break;
      default: break;
    }
  }

  function onDelta(frame) {
    var key = frame.run_ref || "npc";
    var reply = current.replies[key];
    if (!reply) {
      reply = current.replies[key] = characterRow();
      reply.text = make("p", "pg-bubble pg-delta");
      reply.text.setAttribute("aria-busy", "true");
      reply.row.appendChild(reply.text);
    }
    reply.text.textContent += frame.text;
    root.dataset.deltas = String(+(root.dataset.deltas || 0) + 1);
    scroll();
  }

  // -- the log ----------------------------------------------------------------------------------------------

  function scroll() { var log = $("pg-log"); log.scrollTop = log.scrollHeight; }

  function userMessage(text, cursor) {
    // The message shown when it was sent gets its cursor; one sent elsewhere (another tab, the API) is added.
    var index = current.pendingUser.findIndex(function (row) { return row.dataset.text === text; });
    if (index >= 0) {
      var row = current.pendingUser.splice(index, 1)[0];
      row.dataset.cursor = String(cursor);
      row.classList.remove("pg-pending");
      return;
    }
    userRow(text).dataset.cursor = String(cursor);
  }

  function userRow(text) {
    var row = make("li", "pg-row pg-user");
    row.dataset.text = text;
    row.appendChild(make("span", "pg-who pg-visually-hidden", "You: "));
    row.appendChild(make("p", "pg-bubble", text));
    $("pg-log").appendChild(row);
    scroll();
    return row;
  }

  function characterRow() {
    var row = make("li", "pg-row pg-character");
    row.appendChild(make("span", "pg-who pg-visually-hidden", current.session.character.display_name + ": "));
    $("pg-log").appendChild(row);
    return { row: row, text: null };
  }

  function characterMessage(event, payload) {
    var key = event.run_ref || "npc";
    var reply = current.replies[key] || characterRow();
    delete current.replies[key];
    if (reply.text) {
      // What was shown while it was written, now replaced by the reply of record.
      reply.row.dataset.streamedChars = String(reply.text.textContent.length);
      reply.row.removeChild(reply.text);
    }
    reply.row.dataset.cursor = String(event.cursor);
    if (event.run_ref) reply.row.dataset.runRef = event.run_ref;
    (payload.bubbles || [payload.text]).forEach(function (bubble) {
      reply.row.appendChild(make("p", "pg-bubble pg-reply", bubble));
    });
    if (payload.selfie && payload.selfie.image_id) {
      var figure = make("figure", "pg-selfie");
      figure.dataset.imageId = payload.selfie.image_id;
      figure.appendChild(make("figcaption", null, payload.selfie.caption ? payload.selfie.caption + " (drawing…)" : "A selfie is being drawn…"));
      reply.row.appendChild(figure);
    }
    if (event.run_ref && event.event_type === "message.created") {
      var button = make("button", "pg-context-link", "context");
      button.type = "button";
      button.setAttribute("aria-label", "Open the prompt context of this reply");
      button.addEventListener("click", function () { openContext(event.run_ref, button); });
      reply.row.appendChild(button);
    }
    if (payload.state_key !== undefined && payload.kind !== "greeting") {
      showNpc({ state_key: payload.state_key, score: payload.score, decision: payload.decision });
    }
    root.dataset.replies = String(document.querySelectorAll("#pg-log .pg-reply").length);
    if (event.event_type === "message.created") status("Replied.");
    scroll();
  }

  function selfieFigure(imageId) {
    var figure = document.querySelector('.pg-selfie[data-image-id="' + imageId + '"]');
    if (!figure) {
      figure = make("figure", "pg-selfie");
      figure.dataset.imageId = imageId;
      var row = characterRow().row;
      row.appendChild(figure);
    }
    return figure;
  }

  function imageReady(payload) {
    var figure = selfieFigure(payload.image_id);
    figure.textContent = "";
    var link = make("a");
    link.href = payload.url;
    link.target = "_blank";
    link.rel = "noopener";
    var image = make("img");
    image.src = payload.thumbnail_url || payload.url;
    image.alt = payload.caption || payload.prompt_summary || "A selfie";
    link.appendChild(image);
    figure.appendChild(link);
    if (payload.caption) figure.appendChild(make("figcaption", null, payload.caption));
    scroll();
  }

  function imageFailed(payload) {
    var figure = selfieFigure(payload.image_id);
    figure.textContent = "";
    figure.appendChild(make("figcaption", "pg-error", "The selfie could not be drawn: " + (payload.message || payload.code)));
  }

  function failure(payload) {
    var row = make("li", "pg-row pg-failure");
    row.setAttribute("role", "alert");
    row.appendChild(make("p", "pg-error", "The turn failed (" + (payload.code || payload.error_code || "error") + "): " + (payload.message || "")));
    $("pg-log").appendChild(row);
    status("The turn failed.");
    scroll();
  }

  // -- panels -----------------------------------------------------------------------------------------------

  function number(value, digits) { return typeof value === "number" ? value.toFixed(digits) : "—"; }

  function meter(id, value) {
    $(id).value = typeof value === "number" ? value : 0;
    $(id + "-value").textContent = number(value, 3);
  }

  function showEmotion(data, changed) {
    if (!data) return;
    var discrete = data.discrete_emotion || {};
    var vad = data.emotion || {};
    $("pg-emotion-primary").textContent = (discrete.primary || "—") + (discrete.secondary ? " / " + discrete.secondary : "");
    meter("pg-emotion-intensity", typeof data.intensity === "number" ? data.intensity : discrete.intensity);
    meter("pg-emotion-v", vad.V);
    meter("pg-emotion-a", vad.A);
    meter("pg-emotion-d", vad.D);
    $("pg-emotion-trust").textContent = number(data.trust, 3);
    var panel = $("pg-emotion");
    if (changed) {
      panel.dataset.updates = String(+panel.dataset.updates + 1);
      panel.classList.remove("pg-flash");
      void panel.offsetWidth; // restart the highlight
      panel.classList.add("pg-flash");
    }
  }

  function showNpc(data) {
    if (data.machine !== undefined) $("pg-npc-machine").textContent = data.machine;
    if (data.state_key !== undefined && data.state_key !== null) $("pg-npc-state").textContent = data.state_key;
    if (data.score !== undefined && data.score !== null) $("pg-npc-score").textContent = String(data.score);
    if (data.decision) $("pg-npc-decision").textContent = data.decision;
    if (data.outcome !== undefined) $("pg-npc-outcome").textContent = data.outcome || "playing";
    $("pg-npc").dataset.stateKey = $("pg-npc-state").textContent;
  }

  // -- the prompt context -----------------------------------------------------------------------------------

  function table(headers, rows) {
    var node = make("table", "pg-table");
    var head = make("tr");
    headers.forEach(function (header) { var cell = make("th", null, header); cell.scope = "col"; head.appendChild(cell); });
    var thead = make("thead");
    thead.appendChild(head);
    node.appendChild(thead);
    var body = make("tbody");
    rows.forEach(function (cells) {
      var row = make("tr");
      cells.forEach(function (cell) { row.appendChild(make("td", null, cell)); });
      body.appendChild(row);
    });
    node.appendChild(body);
    return node;
  }

  function section(container, title, items, headers, cells) {
    container.appendChild(make("h3", null, title + " (" + items.length + ")"));
    if (items.length) container.appendChild(table(headers, items.map(cells)));
  }

  function openContext(runRef, opener) {
    var panel = $("pg-context");
    var body = $("pg-context-body");
    body.textContent = "Loading…";
    $("pg-context-run").textContent = "· " + runRef;
    panel.hidden = false;
    panel.opener = opener;
    request("GET", sessionPath("runs/" + encodeURIComponent(runRef) + "/context")).then(function (data) {
      body.textContent = "";
      var context = data.context;
      if (!context) {
        body.appendChild(make("p", null, "No prompt context was recorded for this run (" + data.status + ")."));
        return;
      }
      var budget = context.budget || {};
      var facts = make("dl", "pg-facts");
      [["Model", context.model], ["Tokenizer", context.tokenizer],
       ["Budget", (budget.used === undefined ? "—" : budget.used) + " of " + (budget.limit === undefined ? "—" : budget.limit) + " tokens" +
         (budget.reported ? " (provider counted " + budget.reported + ")" : "")]].forEach(function (pair) {
        facts.appendChild(make("dt", null, pair[0]));
        facts.appendChild(make("dd", null, pair[1] === undefined || pair[1] === null ? "—" : pair[1]));
      });
      body.appendChild(facts);
      section(body, "Parts", context.parts || [], ["Source", "Tokens", "Text"], function (p) { return [p.source, p.tokens, p.text]; });
      section(body, "Facts recalled", context.facts || [], ["Fact", "Score"], function (f) { return [f.text, number(f.score, 3)]; });
      section(body, "Lore", context.lore || [], ["Entry"], function (l) { return [typeof l === "string" ? l : (l.text || l.content || JSON.stringify(l))]; });
      section(body, "Blocks", context.blocks || [], ["Label", "Tokens", "Value"], function (b) { return [b.label, b.tokens, b.value]; });
      if (context.summary) {
        body.appendChild(make("h3", null, "Summary (" + context.summary.tokens + " tokens)"));
        body.appendChild(make("p", null, context.summary.text));
      }
      section(body, "Trimmed to fit the budget", context.trimmed || [], ["Source", "Tokens", "Text"], function (p) { return [p.source, p.tokens, p.text]; });
      panel.dataset.runRef = runRef;
    }).catch(function (error) { body.textContent = "Could not load the context: " + error.message; });
    panel.focus();
  }

  function closeContext() {
    var panel = $("pg-context");
    panel.hidden = true;
    if (panel.opener) panel.opener.focus();
  }

  // -- sending ----------------------------------------------------------------------------------------------

  function send(event) {
    event.preventDefault();
    var input = $("pg-text");
    var text = input.value.trim();
    if (!text || !current) return;
    var row = userRow(text);
    row.classList.add("pg-pending");
    current.pendingUser.push(row);
    input.value = "";
    var session = current;
    status(session.session.kind === "npc" ? "The NPC is thinking…" : "Sending…");
    request("POST", sessionPath("messages"), { text: text }).then(function (data) {
      if (session === current && data.npc) showNpc(data.npc);
    }).catch(function (error) {
      row.classList.add("pg-failed");
      row.appendChild(make("p", "pg-error", "Not sent: " + error.message));
      session.pendingUser = session.pendingUser.filter(function (pending) { return pending !== row; });
      status("Not sent: " + error.message);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = $("playground");
    if (!root) return;
    base = root.dataset.base;
    csrf = document.querySelector("#pg-setup [name=csrfmiddlewaretoken]").value;
    $("pg-app").addEventListener("change", function () { close(); loadCast(); });
    $("pg-setup").addEventListener("submit", function (event) { event.preventDefault(); openSession(false); });
    $("pg-restart").addEventListener("click", function () { openSession(true); });
    $("pg-send").addEventListener("submit", send);
    $("pg-text").addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) send(event);
    });
    $("pg-context-close").addEventListener("click", closeContext);
    $("pg-context").addEventListener("keydown", function (event) { if (event.key === "Escape") closeContext(); });
    loadCast();
  });
})();
