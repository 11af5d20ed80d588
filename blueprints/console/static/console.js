// The DeepintShield console: a client of the gateway's own API (same origin, fetch with the keys the
// user typed, kept in sessionStorage only). Data from the API is only ever written with textContent
// or as element properties, never parsed as HTML; the page's CSP allows no inline script at all.
"use strict";

(function () {
  const API = document.body.dataset.api;
  const CONFIG_URL = document.body.dataset.config;
  const KEYS = "deepintshield.console.keys";
  const REFRESH_MS = 2000;
  const MAX_RETRIEVES = 20; // running batches re-read one by one per refresh, at most
  const TERMINAL = new Set(["completed", "failed", "expired", "cancelled"]);
  const CANCELLABLE = new Set(["validating", "in_progress", "finalizing"]);

  let config = null;
  let mergedLists = null; // null: not tried yet; false: the gateway refused ?provider=all (list each provider)
  let refreshing = false;
  let again = false; // a refresh was asked for while one ran
  let timer = null;
  const costs = new Map(); // batch id -> {text, title}, fetched once per ended batch

  // ---- small DOM helpers (text only) ----

  function $(id) { return document.getElementById(id); }

  function el(tag, text, props) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (props) Object.assign(node, props);
    return node;
  }

  function notice(text, isError) {
    const box = $("notice");
    box.textContent = text;
    box.className = isError ? "error" : "ok";
  }

  function when(seconds) {
    if (!seconds) return "";
    return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19) + "Z";
  }

  function size(bytes) {
    if (bytes === null || bytes === undefined) return "";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  // ---- keys: sessionStorage only ----

  function keys() {
    try { return JSON.parse(sessionStorage.getItem(KEYS)) || { gateway: "", providers: {} }; }
    catch (e) { return { gateway: "", providers: {} }; }
  }

  function gatewayMode() { return config.mode === "gateway-key"; }

  function keyFor(provider) {
    const stored = keys();
    return gatewayMode() ? stored.gateway : (stored.providers[provider] || "");
  }

  // The providers to show: in gateway-key mode those the gateway offers that the user did not untick;
  // in passthrough mode those the user gave a key for (a provider's key never goes to another's calls).
  function providersInView() {
    const hidden = keys().hidden || [];
    return config.providers.map((p) => p.name).filter((name) => keyFor(name) && !hidden.includes(name));
  }

  // ---- the API ----

  class ApiError extends Error {
    constructor(status, body) {
      const error = (body && body.error) || {};
      super(error.message || ("HTTP " + status));
      this.status = status;
      this.code = error.code || null;
      this.param = error.param || null;
    }
  }

  async function api(path, options) {
    const opts = options || {};
    const url = new URL(API + path, window.location.href);
    for (const [name, value] of Object.entries(opts.query || {})) url.searchParams.set(name, value);
    const headers = Object.assign({}, opts.headers || {});
    if (opts.key) headers.Authorization = "Bearer " + opts.key;
    let body = opts.form;
    if (opts.json) { headers["Content-Type"] = "application/json"; body = JSON.stringify(opts.json); }
    const response = await fetch(url, { method: opts.method || "GET", headers, body, credentials: "omit",
                                         cache: "no-store" });
    if (!response.ok) {
      let parsed = null;
      try { parsed = await response.json(); } catch (e) { parsed = null; }
      throw new ApiError(response.status, parsed);
    }
    return opts.blob ? response.blob() : response.json();
  }

  // The provider of an ID the gateway issued: encoded IDs name it by code, Anthropic's own batch IDs
  // by their shape, and OpenAI's pass through unchanged (the default provider).
  function providerOfId(id) {
    const match = /^(?:file-ds([a-z0-9]+)[foe]_|batch_ds([a-z0-9]+)_)/.exec(id);
    if (match) {
      const code = match[1] || match[2];
      const found = config.providers.find((p) => p.code === code || p.name === code);
      if (found) return found.name;
    }
    if (id.startsWith("msgbatch_")) return "anthropic";
    return config.default_provider;
  }

  // One list across providers: `?provider=all` when the gateway takes it (per-provider keys as
  // headers), else each provider in view on its own; newest first, with each provider's failure.
  async function listEverything(kind) {
    const inView = providersInView();
    if (!inView.length) return { items: [], errors: [] };
    if (mergedLists !== false) {
      const headers = {};
      if (!gatewayMode()) {
        for (const name of inView) headers["X-DeepintShield-Key-" + name] = keyFor(name);
      }
      try {
        const page = await api("/" + kind, { query: { provider: "all", limit: 100 }, headers,
                                             key: keyFor(inView.includes(config.default_provider)
                                               ? config.default_provider : inView[0]) });
        mergedLists = true;
        const items = page.data
          .map((item) => Object.assign({}, item, { provider: item.provider || providerOfId(item.id) }))
          .filter((item) => inView.includes(item.provider)); // a provider unticked here stays out
        // Only the failures of providers in view: in passthrough mode the others simply have no key here.
        const errors = (page.provider_errors || [])
          .filter((e) => !e.provider || inView.includes(e.provider))
          .map((e) => ({ provider: e.provider || "",
                         message: (e.error && e.error.message) || e.message || JSON.stringify(e) }));
        return { items, errors };
      } catch (error) {
        // A gateway without the merged list answers 400 naming `provider` (an unknown one) or 404.
        const refused = error instanceof ApiError &&
          (error.status === 404 || (error.status === 400 && error.param === "provider"));
        if (!refused) throw error;
        mergedLists = false; // list each provider instead
      }
    }
    const results = await Promise.all(inView.map(async (name) => {
      try {
        const page = await api("/" + kind, { query: { provider: name, limit: 100 }, key: keyFor(name) });
        return { items: page.data.map((item) => Object.assign({}, item, { provider: name })), errors: [] };
      } catch (error) {
        return { items: [], errors: [{ provider: name, message: error.message }] };
      }
    }));
    const items = results.flatMap((r) => r.items).sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
    return { items, errors: results.flatMap((r) => r.errors) };
  }

  function showErrors(listId, errors) {
    const list = $(listId);
    list.replaceChildren(...errors.map((e) => el("li", e.provider + ": " + e.message)));
  }

  // ---- downloads: the content route wants the key, so fetch it and save the blob ----

  async function download(fileId, provider, name) {
    try {
      const blob = await api("/files/" + encodeURIComponent(fileId) + "/content",
                             { key: keyFor(provider), blob: true });
      const link = el("a", null, { href: URL.createObjectURL(blob), download: name || (fileId + ".jsonl") });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      notice("Downloaded " + (name || fileId) + " (" + size(blob.size) + ").");
    } catch (error) {
      notice("Download of " + fileId + " failed: " + error.message, true);
    }
  }

  // ---- batches ----

  function ended(batch) {
    return batch.completed_at || batch.failed_at || batch.expired_at || batch.cancelled_at || null;
  }

  function progressCell(batch) {
    const counts = batch.request_counts || { total: 0, completed: 0, failed: 0 };
    const done = (counts.completed || 0) + (counts.failed || 0);
    const cell = el("td");
    const bar = el("progress", null, { max: counts.total || 1, value: counts.total ? done : 0 });
    bar.className = "progress";
    cell.append(bar, el("span", " " + done + "/" + (counts.total || 0) +
                         (counts.failed ? " (" + counts.failed + " failed)" : ""), { className: "counts" }));
    return cell;
  }

  function tokensCell(batch) {
    const usage = batch.usage;
    if (!usage) return el("td", "");
    const total = usage.total_tokens !== undefined ? usage.total_tokens
      : (usage.input_tokens || 0) + (usage.output_tokens || 0);
    return el("td", total.toLocaleString("en"), {
      title: "input " + (usage.input_tokens || 0) + ", output " + (usage.output_tokens || 0), className: "tokens" });
  }

  function costCell(batch) {
    const cell = el("td", "", { className: "cost" });
    if (!TERMINAL.has(batch.status)) return cell;
    const known = costs.get(batch.id);
    if (known) { cell.textContent = known.text; cell.title = known.title; return cell; }
    cell.textContent = "…";
    costs.set(batch.id, { text: "…", title: "" });
    api("/batches/" + encodeURIComponent(batch.id) + "/cost", { key: keyFor(batch.provider) })
      .then((cost) => {
        if (typeof cost.total_cost !== "number") { // a model whose price the gateway does not know
          costs.set(batch.id, { text: "unknown", title: "no price known for this batch's model" });
          return;
        }
        const amount = cost.total_cost >= 1 ? cost.total_cost.toFixed(2) : cost.total_cost.toPrecision(3);
        costs.set(batch.id, { text: amount + " " + (cost.currency || ""), title: "" });
      })
      .catch((error) => costs.set(batch.id, { text: "n/a", title: error.message }))
      .finally(() => {
        const row = document.querySelector('tr[data-id="' + CSS.escape(batch.id) + '"] td.cost');
        const value = costs.get(batch.id);
        if (row) { row.textContent = value.text; row.title = value.title; }
      });
    return cell;
  }

  function resultsCell(batch) {
    const cell = el("td");
    for (const [label, fileId] of [["output", batch.output_file_id], ["errors", batch.error_file_id]]) {
      if (!fileId) continue;
      const button = el("button", label, { type: "button", className: "download-" + label });
      button.addEventListener("click", () => download(fileId, batch.provider, batch.id + "-" + label + ".jsonl"));
      cell.append(button, " ");
    }
    return cell;
  }

  function actionsCell(batch) {
    const cell = el("td");
    if (!CANCELLABLE.has(batch.status)) return cell;
    const button = el("button", "Cancel", { type: "button", className: "cancel" });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const cancelled = await api("/batches/" + encodeURIComponent(batch.id) + "/cancel",
                                    { method: "POST", key: keyFor(batch.provider) });
        notice("Batch " + batch.id + " is " + cancelled.status + ".");
      } catch (error) {
        notice("Cancel of " + batch.id + " failed: " + error.message, true);
      }
      refresh();
    });
    cell.append(button);
    return cell;
  }

  function batchRow(batch) {
    const row = el("tr");
    row.dataset.id = batch.id;
    row.dataset.provider = batch.provider;
    row.dataset.status = batch.status;
    row.append(el("td", batch.provider, { className: "provider" }), el("td", batch.id, { className: "id", title: batch.id }),
               el("td", batch.status, { className: "status status-" + batch.status }), progressCell(batch),
               tokensCell(batch), costCell(batch), el("td", when(batch.created_at)), el("td", when(ended(batch))),
               resultsCell(batch), actionsCell(batch));
    return row;
  }

  // A listing may lag behind, or carry less than, a retrieve: running batches are re-read one by one.
  async function current(batches) {
    const running = batches.filter((b) => !TERMINAL.has(b.status)).slice(0, MAX_RETRIEVES);
    const fresh = await Promise.all(running.map((b) =>
      api("/batches/" + encodeURIComponent(b.id), { key: keyFor(b.provider) })
        .then((got) => Object.assign({}, got, { provider: b.provider }))
        .catch(() => b)));
    const byId = new Map(fresh.map((b) => [b.id, b]));
    return batches.map((b) => byId.get(b.id) || b);
  }

  async function refreshBatches() {
    const listed = await listEverything("batches");
    const batches = await current(listed.items);
    showErrors("batch-provider-errors", listed.errors);
    $("batches").tBodies[0].replaceChildren(...batches.map(batchRow));
    $("batches-empty").hidden = batches.length > 0;
    // Again while any runs, and once more after one ended in this pass (its result files, listed since).
    const endedNow = batches.some((b, i) => TERMINAL.has(b.status) && !TERMINAL.has(listed.items[i].status));
    return endedNow || batches.some((b) => !TERMINAL.has(b.status));
  }

  // ---- files ----

  function fileRow(file) {
    const row = el("tr");
    row.dataset.id = file.id;
    row.dataset.provider = file.provider;
    const actions = el("td");
    const button = el("button", "Download", { type: "button", className: "download-file" });
    button.addEventListener("click", () => download(file.id, file.provider, file.filename || file.id));
    actions.append(button);
    row.append(el("td", file.provider, { className: "provider" }), el("td", file.id, { className: "id", title: file.id }),
               el("td", file.filename), el("td", file.purpose, { className: "purpose" }),
               el("td", size(file.bytes), { className: "size", title: file.bytes + " bytes" }),
               el("td", when(file.created_at)), actions);
    return row;
  }

  async function refreshFiles() {
    const listed = await listEverything("files");
    showErrors("file-provider-errors", listed.errors);
    $("files").tBodies[0].replaceChildren(...listed.items.map(fileRow));
    $("files-empty").hidden = listed.items.length > 0;
  }

  // ---- refresh loop: again every few seconds while any batch runs ----

  async function refresh() {
    if (refreshing) { again = true; return; } // one more pass once this one ends: it may predate a change
    refreshing = true;
    again = false;
    clearTimeout(timer);
    let running = false;
    try {
      const [anyRunning] = await Promise.all([refreshBatches(), refreshFiles()]);
      running = anyRunning;
    } catch (error) {
      notice("Refresh failed: " + error.message, true);
    } finally {
      refreshing = false;
    }
    if (again) { refresh(); return; }
    $("auto").textContent = running ? "auto-refresh every " + REFRESH_MS / 1000 + " s while a batch runs" : "";
    if (running) timer = setTimeout(refresh, REFRESH_MS);
  }

  // ---- forms ----

  function buildKeyForm() {
    $("mode").textContent = gatewayMode()
      ? "gateway-key mode: one gateway key for every provider"
      : "passthrough mode: each provider's own key";
    $("gateway-key-row").hidden = !gatewayMode();
    const stored = keys();
    $("key-gateway").value = stored.gateway || "";
    const box = $("provider-keys");
    box.replaceChildren();
    if (gatewayMode()) {
      // One key for all: a tick per provider says which to list (one not in use need not be asked).
      box.append(el("span", "List:", { className: "muted" }));
      for (const provider of config.providers) {
        const id = "show-" + provider.name;
        const row = el("div");
        row.append(el("input", null, { type: "checkbox", id, name: provider.name, className: "show",
                                       checked: !(stored.hidden || []).includes(provider.name) }),
                   el("label", provider.name, { htmlFor: id }));
        box.append(row);
      }
      return;
    }
    for (const provider of config.providers) {
      const id = "key-" + provider.name;
      const row = el("div");
      row.append(el("label", provider.name + " key", { htmlFor: id }),
                 el("input", null, { type: "password", id, name: provider.name, spellcheck: false,
                                     value: stored.providers[provider.name] || "" }));
      box.append(row);
    }
  }

  function saveKeys(event) {
    event.preventDefault();
    const providers = {};
    for (const input of $("provider-keys").querySelectorAll("input[type=password]")) {
      if (input.value.trim()) providers[input.name] = input.value.trim();
    }
    const hidden = Array.from($("provider-keys").querySelectorAll("input.show"))
      .filter((box) => !box.checked).map((box) => box.name);
    sessionStorage.setItem(KEYS, JSON.stringify({ gateway: $("key-gateway").value.trim(), providers, hidden }));
    mergedLists = null;
    notice("Keys kept for this tab.");
    refresh();
  }

  function forgetKeys() {
    sessionStorage.removeItem(KEYS);
    buildKeyForm();
    notice("Keys forgotten.");
    refresh();
  }

  function providerChosen() {
    const provider = config.providers.find((p) => p.name === $("create-provider").value);
    if (!provider) return;
    const endpoint = $("create-endpoint");
    endpoint.replaceChildren(...provider.endpoints.map((e) => el("option", e, { value: e })));
    if (provider.endpoints.includes("/v1/chat/completions")) endpoint.value = "/v1/chat/completions";
    $("model-suggestions").replaceChildren(...provider.models.map((m) => el("option", null, { value: m })));
    const model = $("create-model");
    model.disabled = !provider.model_option;
    $("model-hint").textContent = provider.model_option
      ? "sent as the batch's model (optional where each line names one)"
      : "named in each line of the file for this provider";
  }

  function buildCreateForm() {
    const select = $("create-provider");
    select.replaceChildren(...config.providers.map((p) => el("option", p.name, { value: p.name })));
    select.value = config.default_provider;
    select.addEventListener("change", providerChosen);
    providerChosen();
  }

  async function createBatch(event) {
    event.preventDefault();
    const provider = $("create-provider").value;
    const key = keyFor(provider);
    const file = $("create-file").files[0];
    if (!key) { notice("Enter a key for " + provider + " first.", true); return; }
    if (!file) { notice("Choose a JSONL file.", true); return; }
    const submit = $("create-submit");
    submit.disabled = true;
    try {
      const form = new FormData();
      form.append("purpose", "batch");
      form.append("provider", provider);
      form.append("file", file, file.name);
      notice("Uploading " + file.name + "…");
      const uploaded = await api("/files", { method: "POST", form, key });
      const body = { input_file_id: uploaded.id, endpoint: $("create-endpoint").value,
                     completion_window: "24h", provider };
      const model = $("create-model");
      if (!model.disabled && model.value.trim()) body.model = model.value.trim();
      const batch = await api("/batches", { method: "POST", json: body, key });
      notice("Created batch " + batch.id + " on " + provider + ".");
      $("create-form").reset();
      providerChosen();
    } catch (error) {
      notice("Failed: " + error.message + (error.param ? " (" + error.param + ")" : ""), true);
    } finally {
      submit.disabled = false;
    }
    refresh();
  }

  async function start() {
    try {
      const response = await fetch(CONFIG_URL, { credentials: "omit", cache: "no-store" });
      config = await response.json();
    } catch (error) {
      notice("Could not read the console's configuration: " + error.message, true);
      return;
    }
    buildKeyForm();
    buildCreateForm();
    $("keys-form").addEventListener("submit", saveKeys);
    $("keys-forget").addEventListener("click", forgetKeys);
    $("create-form").addEventListener("submit", createBatch);
    $("refresh").addEventListener("click", refresh);
    document.body.dataset.ready = "true";
    refresh();
  }

  start();
})();
