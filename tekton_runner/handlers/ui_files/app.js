// tekton-runner's web page (served at /ui): the runs list, one run's live steps and logs, a form to start a run.
// Everything shown from the API goes through text nodes; the token, when the runner asks for one, lives in
// sessionStorage and travels only in the Authorization header (EventSource cannot send it, so the event
// stream is read with fetch and parsed here).

const TOKEN_KEY = "tekton-runner-token";
const ENDED = new Set(["succeeded", "failed", "deleted"]);
const $ = (id) => document.getElementById(id);

class Unauthorized extends Error {}

let view = null; // the run on screen: {id, abort, lastEventId, ended, connections}
let logAbort = null;

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  node.append(...children.map((child) => (child instanceof Node ? child : String(child ?? ""))));
  return node;
}

function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

// --- HTTP with the token -------------------------------------------------------------------------------------

function withToken(headers) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { ...headers, Authorization: `Bearer ${token}` } : headers;
}

async function call(path, init = {}) {
  const response = await fetch(path, { ...init, headers: withToken(init.headers || {}), cache: "no-store" });
  if (response.status === 401) {
    askForToken(sessionStorage.getItem(TOKEN_KEY) ? "The token was refused." : "");
    throw new Unauthorized("a valid token is needed");
  }
  return response;
}

async function problemText(response) {
  try {
    const body = await response.json();
    return `${body.error}: ${body.message}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

async function callJson(path, init) {
  const response = await call(path, init);
  if (!response.ok) throw new Error(await problemText(response));
  return response.json();
}

function askForToken(why) {
  $("token-section").hidden = false;
  $("main").hidden = true;
  notice(why);
  $("token-input").focus();
}

function tokenGiven(event) {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token-input").value);
  $("token-input").value = "";
  $("token-section").hidden = true;
  $("main").hidden = false;
  $("forget-token").hidden = false;
  notice("");
  route();
}

function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  $("forget-token").hidden = true;
  view?.abort.abort();
  logAbort?.abort();
  askForToken("");
}

// --- the runs list --------------------------------------------------------------------------------------------

let runsQuery = null; // the filters of the rows shown, and where the next page starts

async function loadRuns() {
  const query = new URLSearchParams({ limit: "50" });
  for (const [name, id] of [["state", "filter-state"], ["workspace", "filter-workspace"], ["app", "filter-app"]]) {
    const value = $(id).value.trim();
    if (value) query.set(name, value);
  }
  runsQuery = query;
  showRuns(await callJson(`/runs?${query}`), false);
}

async function loadOlderRuns() {
  if (!runsQuery?.has("cursor")) return;
  showRuns(await callJson(`/runs?${runsQuery}`), true);
}

function showRuns(body, appended) {
  const rows = body.runs.map((run) => el("tr", { "data-run": run.run_id },
    el("td", {}, el("a", { href: `#run=${encodeURIComponent(run.run_id)}` }, run.run_id)),
    el("td", { class: "state", "data-state": run.state }, run.state),
    el("td", {}, run.app), el("td", {}, run.workspace), el("td", {}, run.reason)));
  if (appended) $("runs-body").append(...rows);
  else $("runs-body").replaceChildren(...rows);
  if (body.next) runsQuery.set("cursor", body.next);
  else runsQuery.delete("cursor");
  $("runs-more").hidden = !body.next;
}

// --- one run ---------------------------------------------------------------------------------------------------

function showState(run) {
  $("run-state").textContent = run.state;
  $("run-state").dataset.state = run.state;
  $("run-reason").textContent = run.reason ? `(${run.reason})` : "";
  $("run-message").textContent = run.message || "";
}

function showEndpoint(run) {
  const endpoint = run.endpoint;
  const shown = run.state === "succeeded" && endpoint;
  $("run-endpoint").hidden = !shown;
  if (!shown) return;
  const address = endpoint.external || endpoint.host_local || "";
  $("run-endpoint-link").textContent = address;
  $("run-endpoint-link").href = new URL(`http://${address}/`).href;
  $("run-endpoint-local").textContent = endpoint.host_local || "";
}

function stepRow(name) {
  let row = $("steps-body").querySelector(`tr[data-step="${CSS.escape(name)}"]`);
  if (!row) {
    row = el("tr", { "data-step": name }, el("td", {}, name), el("td", { class: "state" }), el("td", {}),
      el("td", { class: "message" }), el("td", {}));
    $("steps-body").append(row);
  }
  return row;
}

function showStep(step) {
  const row = stepRow(step.name ?? step.step);
  row.dataset.state = step.state;
  row.cells[1].textContent = step.state;
  row.cells[1].dataset.state = step.state;
  row.cells[2].textContent = step.reason || "";
  row.cells[3].textContent = step.message || "";
  if (step.attempts !== undefined) row.cells[4].textContent = String(step.attempts);
}

function showRun(run) {
  $("run").hidden = false;
  $("run-id").textContent = run.run_id;
  showState(run);
  showEndpoint(run);
  $("steps-body").replaceChildren();
  for (const step of run.steps) showStep(step);
}

async function openRun(id) {
  view?.abort.abort();
  logAbort?.abort();
  const current = { id, abort: new AbortController(), lastEventId: 0, ended: false, connections: 0 };
  view = current;
  $("transitions").replaceChildren();
  delete $("live").dataset.lastEventId;
  delete $("live").dataset.connections;
  $("log").replaceChildren();
  $("log-status").textContent = "";
  for (const button of $("log-steps").querySelectorAll("button")) button.setAttribute("aria-pressed", "false");
  const run = await callJson(`/runs/${encodeURIComponent(id)}`, { signal: current.abort.signal });
  showRun(run);
  follow(current);
}

// --- the run's progress stream (GET /runs/{id}/events) ----------------------------------------------------------

// Server-Sent Events read from a fetch body: messages are separated by a blank line; `id:`, `event:` and
// `data:` fields, comments (keep-alives) start with a colon.
async function readEvents(body, onMessage, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  signal.addEventListener("abort", () => reader.cancel().catch(() => {}));
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message = { id: null, event: "message", data: [] };
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") message.data.push(text);
        else if (field === "id" || field === "event") message[field] = text;
      }
      if (message.data.length) onMessage({ ...message, data: message.data.join("\n") });
    }
  }
}

function transition(current, message) {
  const change = JSON.parse(message.data);
  if (message.id !== null) {
    current.lastEventId = Number(message.id);
    $("live").dataset.lastEventId = message.id;
  }
  const what = change.subject === "step" ? change.step : "run";
  const text = `${change.at} ${what} ${change.state}${change.reason ? ` (${change.reason})` : ""}`;
  $("transitions").append(el("li", { "data-seq": String(change.seq) }, text));
  if (change.subject === "step") {
    showStep(change);
    return;
  }
  showState(change);
  if (ENDED.has(change.state)) current.ended = true;
}

async function follow(current) {
  const { signal } = current.abort;
  let failures = 0;
  while (!signal.aborted && !current.ended) {
    try {
      const headers = current.lastEventId ? { "Last-Event-ID": String(current.lastEventId) } : {};
      const response = await call(`/runs/${encodeURIComponent(current.id)}/events`, { signal, headers });
      if (!response.ok) throw new Error(await problemText(response));
      current.connections += 1;
      $("live").dataset.connections = String(current.connections);
      $("live").textContent = "following live";
      await readEvents(response.body, (message) => {
        failures = 0;
        transition(current, message);
      }, signal);
    } catch (error) {
      if (signal.aborted || error instanceof Unauthorized) return;
      failures += 1;
      $("live").textContent = `connection lost (${error.message}); resuming`;
    }
    // A stream that ended before the run did (the runner's stream limit, a restart, a dropped connection)
    // is resumed after the last transition seen; repeated failures back off up to 10 s.
    if (!current.ended && failures) await pause(Math.min(500 * 2 ** failures, 10000), signal);
  }
  if (current.ended && !signal.aborted) {
    $("live").textContent = "run ended";
    const run = await callJson(`/runs/${encodeURIComponent(current.id)}`, { signal });
    showState(run);
    showEndpoint(run);
    loadRuns().catch(shown);
  }
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); });
  });
}

// --- logs (GET /runs/{id}/logs?step=…&follow=1) ----------------------------------------------------------------

async function openLog(step) {
  if (!view) return;
  logAbort?.abort();
  const abort = new AbortController();
  logAbort = abort;
  for (const button of $("log-steps").querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.log === step));
  }
  const out = $("log");
  out.replaceChildren();
  $("log-status").textContent = `${step} log: following`;
  try {
    const query = new URLSearchParams({ step, follow: "1" });
    const response = await call(`/runs/${encodeURIComponent(view.id)}/logs?${query}`, { signal: abort.signal });
    if (!response.ok) {
      $("log-status").textContent = `${step} log: ${await problemText(response)}`;
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    abort.signal.addEventListener("abort", () => reader.cancel().catch(() => {}));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out.append(value);
      out.scrollTop = out.scrollHeight;
    }
    $("log-status").textContent = `${step} log: ended`;
  } catch (error) {
    if (!abort.signal.aborted && !(error instanceof Unauthorized)) {
      $("log-status").textContent = `${step} log: ${error.message}`;
    }
  }
}

// --- starting a run (POST /run) -----------------------------------------------------------------------------------

async function startRun(event) {
  event.preventDefault();
  const form = new FormData($("start-form"));
  const dependency = form.get("dependency");
  const spec = {
    workspace: form.get("workspace"),
    app: { name: form.get("app"), port: Number(form.get("port")) },
    source: { type: "git", url: form.get("url"), revision: form.get("revision") },
    dependency: { type: dependency },
  };
  $("start-status").textContent = "starting…";
  try {
    const response = await call("/run", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(spec),
    });
    if (!response.ok) {
      $("start-status").textContent = `refused: ${await problemText(response)}`;
      return;
    }
    const run = await response.json();
    $("start-status").textContent = `run ${run.run_id} started (${run.state})`;
    location.hash = `run=${encodeURIComponent(run.run_id)}`;
  } catch (error) {
    shown(error);
  }
}

// --- wiring ------------------------------------------------------------------------------------------------------

function shown(error) {
  if (!(error instanceof Unauthorized) && error.name !== "AbortError") notice(error.message);
}

function route() {
  notice("");
  loadRuns().catch(shown);
  const match = /^#run=(.+)$/.exec(location.hash);
  if (match) openRun(decodeURIComponent(match[1])).catch(shown);
  else $("run").hidden = true;
}

$("token-form").addEventListener("submit", tokenGiven);
$("forget-token").addEventListener("click", forgetToken);
$("filters").addEventListener("submit", (event) => { event.preventDefault(); loadRuns().catch(shown); });
$("runs-more").addEventListener("click", () => { loadOlderRuns().catch(shown); });
$("start-form").addEventListener("submit", startRun);
$("log-steps").addEventListener("click", (event) => {
  const step = event.target.closest("button")?.dataset.log;
  if (step) openLog(step);
});
window.addEventListener("hashchange", route);
$("forget-token").hidden = !sessionStorage.getItem(TOKEN_KEY);
route();
