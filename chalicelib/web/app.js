// The registry web page: plain modern JavaScript, no dependencies, no network but this API.
//
// Views are chosen by the URL fragment, so every view can be linked to:
//   #                              buckets
//   #bucket=NAME                   one bucket: versions, channels (with history), labels
//   #bucket=NAME&version=vN        one version: builds, artifacts, ancestry, revocation, actions
//   #view=compliance               the last sweep's report
//   #view=ingestions&status=S      ingestion records (default: rejected)
//   #token=SECRET                  (with any of the above) signs in, then is removed from the address bar
// Everything the API returns is untrusted: the DOM is built with textContent only.
"use strict";

const TOKEN_KEY = "packer-registry.token";
const API_BASE = new URL(".", location.href.split("#")[0]); // the page's own directory (…/api/ on API Gateway)
const PAGE_SIZE = 100;
const POOL = 4; // concurrent per-bucket requests on the bucket list

const state = { role: null, who: null, search: "", generation: 0 };

// ---- small DOM helpers ---------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const $ = (selector, root = document) => root.querySelector(selector);

function clear(node) {
  node.replaceChildren();
  return node;
}

// ---- the API -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  // In words, for a person: what kind of refusal, then the API's own message.
  get sentence() {
    const kind = {
      0: "Cannot reach the registry", 400: "The registry refused the request", 401: "Not signed in",
      403: "Not allowed", 404: "Not found", 409: "Refused because of the current state",
    }[this.status] || (this.status >= 500 ? "The registry failed" : `Error ${this.status}`);
    return `${kind}: ${this.message}`;
  }
}

function apiUrl(path, params) {
  const url = new URL(path.replace(/^\//, ""), API_BASE);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  return url;
}

const enc = encodeURIComponent;

async function api(method, path, { params, body, quiet401 = false } = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, "NetworkError", `the request did not complete (${error.message})`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = (data && (data.error || data.Code)) || `HTTP ${response.status}`;
    const message = (data && (data.message || data.Message)) || text.slice(0, 300) || response.statusText;
    const error = new ApiError(response.status, code, message);
    if (response.status === 401 && !quiet401) signedOut(`Your token was not accepted (${message}). Sign in again.`);
    throw error;
  }
  return data;
}

// Every page of a list (bounded: `maxPages` pages of PAGE_SIZE); `key` names the list.
async function allPages(path, params = {}, maxPages = 5, key = "items") {
  let items = [];
  let next = null;
  let first = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await api("GET", path, { params: { ...params, limit: PAGE_SIZE, next_token: next } });
    first = first || page;
    items = items.concat(page[key] || []);
    next = page.next_token;
    if (!next) break;
  }
  return { items, next_token: next, first };
}

// Run `task` over `items` with at most `limit` in flight.
async function pool(items, limit, task) {
  let index = 0;
  const worker = async () => {
    while (index < items.length) {
      const item = items[index++];
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---- messages ------------------------------------------------------------------------------

// A "Load more" button: `load(token)` fetches the next page, `add(page)` shows it; hidden
// once the API returns no next_token. `hasMore()` tells whether more remain.
function moreButton(label, firstToken, load, add) {
  let next = firstToken;
  const button = h("button", { type: "button", class: "button secondary", hidden: !next }, label);
  button.hasMore = () => Boolean(next);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const page = await load(next);
      next = page.next_token;
      add(page);
      button.hidden = !next;
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function showError(error) {
  if (error instanceof ApiError && error.status === 401) return; // the sign-in form says it
  const text = error instanceof ApiError ? error.sentence : `Something went wrong in the page: ${error.message}`;
  const region = $("#alert");
  clear(region).append(h("div", { class: "callout bad" },
    h("span", { class: "callout-icon", "aria-hidden": "true" }, "✕"),
    h("div", {}, h("p", {}, text)),
    h("button", { type: "button", class: "button secondary small", onclick: () => clear(region) }, "Dismiss")));
  if (!(error instanceof ApiError)) console.error(error);
}

function showNotice(text) {
  const region = $("#notice");
  clear(region).append(h("div", { class: "callout ok" },
    h("span", { class: "callout-icon", "aria-hidden": "true" }, "✓"), h("p", {}, text)));
}

function clearMessages() {
  clear($("#alert"));
  clear($("#notice"));
}

// ---- words for statuses --------------------------------------------------------------------

const VERSION_STATUS = {
  active: ["Active", "ok", "✓"],
  revoked: ["Revoked", "bad", "✕"],
  revocation_scheduled: ["Revocation scheduled", "warn", "◷"],
};
const ANCESTRY_STATUS = {
  up_to_date: ["Up to date", "ok", "✓"],
  out_of_date: ["Outdated", "warn", "!"],
  parent_revoked: ["Parent revoked", "bad", "✕"],
  undetermined: ["Undetermined", "muted", "?"],
};
const FOUND_BY = {
  parent_channel: "named in the manifest (bucket and channel)",
  parent_version: "named in the manifest (bucket and version)",
  source_artifact: "found from the source image",
  unresolved: "named in the manifest, not found",
};
const INGESTION_STATUS = {
  accepted: ["Accepted", "ok", "✓"], partial: ["Partly accepted", "warn", "!"], rejected: ["Rejected", "bad", "✕"],
};

function badge([label, tone, icon], extra) {
  return h("span", { class: `badge ${tone}`, title: extra || undefined },
    h("span", { class: "badge-icon", "aria-hidden": "true" }, icon), label);
}

function versionBadge(status) {
  return badge(VERSION_STATUS[status] || [status || "unknown", "muted", "?"]);
}

function ancestryBadge(status) {
  if (!status) return h("span", { class: "quiet" }, "No parent");
  return badge(ANCESTRY_STATUS[status] || [status, "muted", "?"]);
}

// "Outdated: parent base channel production now points at v2; this was built from v1."
function ancestrySentence(status, message) {
  const label = (ANCESTRY_STATUS[status] || [status || "Note"])[0];
  if (!message) return `${label}.`;
  return `${label}: ${message}${/[.!?]$/.test(message) ? "" : "."}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function when(iso) {
  if (!iso) return h("span", { class: "quiet" }, "—");
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h("time", { datetime: iso, title: iso }, dateFormat.format(date));
}

function fingerprint(value) {
  if (!value) return h("span", { class: "quiet" }, "—");
  const short = value.length > 14 ? `${value.slice(0, 12)}…` : value;
  return h("code", { class: "fingerprint", title: value }, short);
}

// ---- links ---------------------------------------------------------------------------------

function hashFor(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `#${text}` : "#";
}

const bucketHref = (bucket) => hashFor({ bucket });
const versionHref = (bucket, version) => hashFor({ bucket, version });

function versionLink(bucket, version, text) {
  return h("a", { href: versionHref(bucket, version), class: "version-link" }, text || `${bucket} ${version}`);
}

// ---- building blocks -----------------------------------------------------------------------

// A table that becomes a list of cards on a narrow screen (cells carry their column name).
function table(caption, columns, rows, { empty = "Nothing here yet.", captionHidden = false } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", { class: "stack" },
      h("caption", { class: captionHidden ? "visually-hidden" : undefined }, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.map((row) => {
        return row instanceof Node ? row : h("tr", {}, row.map((cell, i) => td(columns[i], cell)));
      }))));
}

// A table around a tbody that may grow ("Load more"); the empty text when it has no rows.
function liveTable(caption, columns, tbody, { empty = "Nothing here yet.", id } = {}) {
  if (!tbody.children.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", { class: "stack", id },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))), tbody));
}

function row(columns, cells, attrs = {}) {
  return h("tr", attrs, cells.map((cell, i) => td(columns[i], cell)));
}

// A cell: its content in one box, so a narrow screen can put the column name beside it.
function td(label, ...content) {
  return h("td", { "data-label": label }, h("div", { class: "cell" }, content));
}

function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), children);
}

function labelList(labels) {
  const entries = Object.entries(labels || {});
  if (!entries.length) return h("span", { class: "quiet" }, "none");
  return h("ul", { class: "labels" }, entries.map(([k, v]) => h("li", {}, h("span", { class: "label-key" }, k), h("span", { class: "label-value" }, v))));
}

function breadcrumbs(...parts) {
  return h("nav", { "aria-label": "Breadcrumb", class: "breadcrumbs" },
    h("ol", {}, parts.map(([text, href], i) => h("li", {},
      href && i < parts.length - 1 ? h("a", { href }, text) : h("span", { "aria-current": "page" }, text)))));
}

function heading(text, ...extra) {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1", id: "view-title" }, text), extra);
}

function callout(tone, icon, title, ...body) {
  return h("div", { class: `callout ${tone}` },
    h("span", { class: "callout-icon", "aria-hidden": "true" }, icon),
    h("div", {}, title ? h("p", { class: "callout-title" }, title) : null, body));
}

function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

// ---- sign-in -------------------------------------------------------------------------------

function takeTokenFromHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (!params.has("token")) return;
  const token = (params.get("token") || "").trim();
  params.delete("token");
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    state.role = state.who = null;
  }
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
}

function signedOut(message, { focus = true } = {}) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.role = state.who = null;
  state.generation++;
  clearMessages();
  clear($("#view"));
  $("#main-nav").hidden = true;
  $("#session").hidden = true;
  $("#signin").hidden = false;
  $("#signin-error").textContent = message || "";
  document.title = "Sign in · Packer registry";
  const input = $("#token-input");
  input.value = "";
  if (focus) input.focus();
}

async function signIn(event) {
  event.preventDefault();
  const input = $("#token-input");
  const token = input.value.trim();
  const error = $("#signin-error");
  if (!token) {
    error.textContent = "Paste a token first.";
    input.focus();
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  error.textContent = "";
  try {
    await api("GET", "/buckets", { params: { limit: 1 }, quiet401: true });
  } catch (failure) {
    sessionStorage.removeItem(TOKEN_KEY);
    error.textContent = failure.status === 401 ? `That token was not accepted: ${failure.message}` : failure.sentence;
    input.focus();
    return;
  }
  input.value = "";
  state.role = state.who = null;
  route();
}

// Who the token is, when the API says (GET /whoami); unknown otherwise, and the actions stay
// visible: the API's 403 then says what role is needed.
async function identify() {
  if (state.who !== null) return;
  state.who = "";
  try {
    const me = await api("GET", "/whoami", { quiet401: true });
    state.who = me.name || "";
    state.role = me.role || null;
  } catch {
    state.role = null;
  }
  const who = $("#who");
  who.textContent = state.who ? `Signed in as ${state.who}${state.role ? ` (${state.role})` : ""}` : "Signed in";
}

const canChange = () => state.role === null || state.role === "contributor" || state.role === "admin";

// ---- routing -------------------------------------------------------------------------------

async function route({ focus = true } = {}) {
  takeTokenFromHash();
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    signedOut("", { focus });
    return;
  }
  $("#signin").hidden = true;
  $("#main-nav").hidden = false;
  $("#session").hidden = false;
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  await identify();
  const generation = ++state.generation;
  const view = clear($("#view"));
  clearMessages();
  const bucket = params.get("bucket");
  const version = params.get("version");
  const name = bucket ? "buckets" : params.get("view") || "buckets";
  for (const link of document.querySelectorAll("#main-nav a")) {
    if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const ctx = { generation, current: () => generation === state.generation, view, focus };
  view.append(loading());
  try {
    if (bucket && version) await renderVersion(ctx, bucket, version);
    else if (bucket) await renderBucket(ctx, bucket);
    else if (name === "compliance") await renderCompliance(ctx);
    else if (name === "ingestions") await renderIngestions(ctx, params.get("status") || "rejected");
    else await renderBuckets(ctx);
  } catch (error) {
    if (!ctx.current()) return;
    clear(view);
    if (error instanceof ApiError && error.status === 401) return;
    showError(error);
    view.append(h("p", { class: "empty" }, h("a", { href: "#" }, "Back to the buckets")));
  }
}

// Replace the view's content once loaded (ignored if the person has moved on meanwhile).
function show(ctx, title, ...children) {
  if (!ctx.current()) return false;
  document.title = `${title} · Packer registry`;
  append(clear(ctx.view), children);
  if (ctx.focus) $("#view-title")?.focus({ preventScroll: false });
  return true;
}

// ---- buckets -------------------------------------------------------------------------------

async function renderBuckets(ctx) {
  const [list, report] = await Promise.all([
    api("GET", "/buckets", { params: { limit: PAGE_SIZE } }),
    allPages("/compliance/report", {}, 3, "flagged").catch(() => null),
  ]);
  let buckets = list.items || [];
  const flagged = new Map(); // bucket -> {status: count}
  for (const item of report?.items || []) {
    const counts = flagged.get(item.bucket) || {};
    counts[item.ancestry_status] = (counts[item.ancestry_status] || 0) + 1;
    flagged.set(item.bucket, counts);
  }

  const columns = ["Bucket", "Latest version", "Channels", "Status", "Versions", "Updated"];
  const tbody = h("tbody");
  const count = h("p", { class: "quiet", role: "status", id: "bucket-count" });
  const search = h("input", {
    type: "search", id: "bucket-search", autocomplete: "off", value: state.search,
    placeholder: "name, description or label", "aria-controls": "bucket-table",
  });
  const more = moreButton("Load more buckets", list.next_token,
    (token) => api("GET", "/buckets", { params: { limit: PAGE_SIZE, next_token: token } }),
    (page) => { buckets = buckets.concat(page.items || []); addRows(page.items || []); });

  const rows = new Map(); // name -> {tr, bucket}
  function addRows(items) {
    for (const bucket of items) {
      const statusTd = td("Status", bucketBadges(bucket, flagged.get(bucket.name), null, null));
      const channelTd = td("Channels", h("span", { class: "quiet" }, "loading…"));
      const statusCell = statusTd.firstChild;
      const channelCell = channelTd.firstChild;
      const tr = h("tr", { dataset: { bucket: bucket.name } },
        td("Bucket",
          h("a", { href: bucketHref(bucket.name), class: "strong" }, bucket.name),
          bucket.description ? h("div", { class: "quiet small" }, bucket.description) : null,
          Object.keys(bucket.labels || {}).length ? labelList(bucket.labels) : null),
        td("Latest version",
          bucket.latest_version ? versionLink(bucket.name, bucket.latest_version, bucket.latest_version) : h("span", { class: "quiet" }, "none")),
        channelTd, statusTd,
        td("Versions", String(bucket.version_count ?? "—")),
        td("Updated", when(bucket.updated_at)));
      rows.set(bucket.name, { tr, bucket, statusCell, channelCell });
      tbody.append(tr);
    }
    filter();
    // Channels and version statuses: from the list itself if the API gives them, else per bucket.
    pool(items, POOL, async (bucket) => {
      if (!ctx.current()) return;
      const entry = rows.get(bucket.name);
      try {
        const [channels, versions] = await Promise.all([
          bucket.channels ? { items: bucket.channels } : api("GET", `/buckets/${enc(bucket.name)}/channels`, { params: { limit: PAGE_SIZE } }),
          bucket.status_counts ? null : api("GET", `/buckets/${enc(bucket.name)}/versions`, { params: { limit: PAGE_SIZE } }),
        ]);
        clear(entry.channelCell).append(channelSummary(bucket.name, channels.items || []));
        clear(entry.statusCell).append(bucketBadges(bucket, flagged.get(bucket.name), versions?.items || null, bucket.status_counts));
      } catch (error) {
        clear(entry.channelCell).append(h("span", { class: "quiet" }, error.sentence || "not loaded"));
        if (!(error instanceof ApiError) || error.status !== 401) clear(entry.statusCell).append(h("span", { class: "quiet" }, "not checked"));
      }
    });
  }

  function filter() {
    const needle = search.value.trim().toLowerCase();
    state.search = search.value;
    let shown = 0;
    for (const { tr, bucket } of rows.values()) {
      const haystack = [bucket.name, bucket.description, ...Object.entries(bucket.labels || {}).flat()].join(" ").toLowerCase();
      const match = !needle || haystack.includes(needle);
      tr.hidden = !match;
      if (match) shown++;
    }
    count.textContent = needle ? `${shown} of ${rows.size} buckets match “${search.value.trim()}”.` : `${rows.size} bucket${rows.size === 1 ? "" : "s"}${more.hasMore() ? " loaded" : ""}.`;
  }

  search.addEventListener("input", filter);

  const counts = report ? summaryOfReport(report) : null;
  const content = [
    heading("Buckets"),
    counts,
    h("div", { class: "card" },
      h("div", { class: "toolbar" },
        h("div", { class: "field grow" }, h("label", { for: "bucket-search" }, "Search buckets"), search),
        count),
      buckets.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "stack", id: "bucket-table" },
          h("caption", { class: "visually-hidden" }, "Buckets, their latest version, channels and status"),
          h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))), tbody))
        : h("div", { class: "empty" },
          h("p", {}, "No buckets yet."),
          h("p", {}, "Upload a Packer manifest (packer-manifest.json) to the registry's manifest S3 bucket; its bucket appears here within seconds.")),
      more),
  ];
  if (!show(ctx, "Buckets", content)) return;
  addRows(buckets);
}

function summaryOfReport(report) {
  return [servingRevokedCallout(report.first || {}), flaggedCallout(report.items || [])].filter(Boolean);
}

// The biggest risk first: channels whose consumers get a 409 because they hold a revoked version.
function servingRevokedCallout(page) {
  const serving = page.channels_serving_revoked || [];
  if (!serving.length) return null;
  const more = page.channels_serving_revoked_truncated ? " (and more)" : "";
  return callout("bad", "!", `${serving.length}${more} channel${serving.length === 1 ? " serves" : "s serve"} a revoked version: consumers get an error from ${serving.length === 1 ? "it" : "them"}.`,
    h("ul", { id: "serving-revoked-summary" }, serving.slice(0, 5).map((c) => h("li", {},
      h("span", { class: "channel-name" }, `${c.bucket} / ${c.channel}`), " → ",
      c.version ? versionLink(c.bucket, c.version, c.version) : "", ` — ${revocationWords(c.revocation)}`))),
    h("p", {}, "Assign a good version to each, or restore the version: ",
      h("a", { href: "#view=compliance" }, "see the compliance report"), "."));
}

function revocationWords(revocation) {
  const r = revocation || {};
  const origin = r.revocation_type === "inherited" && r.inherited_from ? ` (inherited from ${r.inherited_from})` : "";
  return `revoked${origin}${r.reason ? `: ${r.reason}` : ""}`;
}

function flaggedCallout(flagged) {
  if (!flagged.length) return null;
  const byStatus = {};
  for (const item of flagged) byStatus[item.ancestry_status] = (byStatus[item.ancestry_status] || 0) + 1;
  const words = Object.entries(byStatus).map(([s, n]) => `${n} ${(ANCESTRY_STATUS[s] || [s])[0].toLowerCase()}`).join(", ");
  const shown = flagged.slice(0, 5);
  return callout("warn", "!", `${flagged.length} version${flagged.length === 1 ? " needs" : "s need"} attention (${words}).`,
    h("ul", { id: "flagged-summary" }, shown.map((f) => h("li", {},
      versionLink(f.bucket, f.version), " — ",
      (f.messages || []).length ? f.messages.map((m) => ancestrySentence(f.ancestry_status, m)).join(" ")
        : `${(ANCESTRY_STATUS[f.ancestry_status] || [f.ancestry_status])[0]}.`))),
    h("p", {}, flagged.length > shown.length ? `And ${flagged.length - shown.length} more. ` : "",
      "Found by the compliance sweep: ", h("a", { href: "#view=compliance" }, "see the compliance report"), "."));
}

function channelSummary(bucket, channels) {
  if (!channels.length) return h("span", { class: "quiet" }, "none");
  const ordered = [...channels].sort((a, b) => (a.name === "latest") - (b.name === "latest") || a.name.localeCompare(b.name));
  return h("ul", { class: "channel-list" }, ordered.map((c) => h("li", {},
    h("span", { class: "channel-name" }, c.name), " → ",
    c.version ? versionLink(bucket, c.version, c.version) : h("span", { class: "quiet" }, "unassigned"),
    c.version_status && c.version_status !== "active" ? [" ", versionBadge(c.version_status)] : null)));
}

// Badges for a bucket: from its versions when loaded (newest PAGE_SIZE), else the sweep's report.
function bucketBadges(bucket, flaggedCounts, versions, statusCounts) {
  const counts = { ...(statusCounts || {}) };
  if (versions) {
    for (const v of versions) {
      if (v.status !== "active") counts[v.status] = (counts[v.status] || 0) + 1;
      if (v.ancestry_status && v.ancestry_status !== "up_to_date" && v.status !== "revoked") {
        counts[v.ancestry_status] = (counts[v.ancestry_status] || 0) + 1;
      }
    }
  } else if (!statusCounts) {
    Object.assign(counts, flaggedCounts || {});
  }
  const order = [
    ["out_of_date", "outdated", "warn", "!"],
    ["parent_revoked", "parent revoked", "bad", "✕"],
    ["revoked", "revoked", "bad", "✕"],
    ["revocation_scheduled", "revocation scheduled", "warn", "◷"],
    ["undetermined", "undetermined", "muted", "?"],
  ];
  const badges = [];
  for (const [key, words, tone, icon] of order) {
    const n = counts[key] || 0;
    if (n) badges.push(h("li", {}, badge([`${n} ${words}`, tone, icon])));
  }
  if (!badges.length) {
    if (!versions && !statusCounts) return h("span", { class: "quiet" }, "checking…");
    return badge(["No problems", "ok", "✓"]);
  }
  return h("ul", { class: "badge-list" }, badges);
}

// ---- one bucket ----------------------------------------------------------------------------

async function renderBucket(ctx, name) {
  const [bucket, versions, channels] = await Promise.all([
    api("GET", `/buckets/${enc(name)}`),
    api("GET", `/buckets/${enc(name)}/versions`, { params: { limit: PAGE_SIZE } }),
    allPages(`/buckets/${enc(name)}/channels`, {}, 2),
  ]);
  const holders = channelsByVersion(channels.items);
  const versionColumns = ["Version", "Fingerprint", "Created", "Builds", "Status", "Ancestry", "Channels"];
  const versionRows = h("tbody");
  const shownVersions = [];
  const addVersions = (items) => {
    for (const v of items) {
      shownVersions.push(v);
      versionRows.append(row(versionColumns, [
        h("a", { href: versionHref(name, v.name), class: "strong" }, v.name),
        fingerprint(v.fingerprint),
        when(v.created_at),
        String(v.build_count ?? "—"),
        versionBadge(v.status),
        ancestryBadge(v.ancestry_status),
        (holders.get(v.name) || []).join(", ") || h("span", { class: "quiet" }, "—"),
      ], { dataset: { version: v.name } }));
    }
  };
  addVersions(versions.items || []);
  const moreVersions = moreButton("Load older versions", versions.next_token,
    (token) => api("GET", `/buckets/${enc(name)}/versions`, { params: { limit: PAGE_SIZE, next_token: token } }),
    (page) => addVersions(page.items || []));

  const attention = shownVersions.filter((v) => v.status !== "revoked" && v.ancestry_status && v.ancestry_status !== "up_to_date");
  const warnings = attention.length
    ? callout("warn", "!", `${attention.length} version${attention.length === 1 ? " needs" : "s need"} attention`,
      h("ul", {}, attention.map((v) => h("li", {},
        h("a", { href: versionHref(name, v.name) }, v.name), " — ",
        (v.ancestry_messages && v.ancestry_messages.length ? v.ancestry_messages : [(ANCESTRY_STATUS[v.ancestry_status] || [v.ancestry_status])[0]])
          .map((m) => ancestrySentence(v.ancestry_status, m)).join(" ")))))
    : null;

  const channelColumns = ["Channel", "Version", "Version status", "Updated", "History"];
  const channelTable = table("Channels", channelColumns, [...channels.items]
    .sort((a, b) => (a.name === "latest") - (b.name === "latest") || a.name.localeCompare(b.name))
    .map((c) => row(channelColumns, [
      h("div", {}, h("span", { class: "strong" }, c.name),
        c.managed ? h("span", { class: "tag" }, "managed") : null,
        c.restricted ? h("span", { class: "tag" }, "restricted") : null,
        c.description ? h("div", { class: "quiet small" }, c.description) : null),
      c.version ? versionLink(name, c.version, c.version) : h("span", { class: "quiet" }, "unassigned"),
      c.version ? versionBadge(c.version_status) : h("span", { class: "quiet" }, "—"),
      h("span", {}, when(c.updated_at), c.updated_by ? h("span", { class: "quiet small" }, ` by ${c.updated_by}`) : null),
      historyDisclosure(name, c.name),
    ], { dataset: { channel: c.name } })), { empty: "No channels yet.", captionHidden: true });

  show(ctx, name,
    breadcrumbs(["Buckets", "#"], [name]),
    heading(name, bucket.description ? h("p", { class: "lead" }, bucket.description) : null),
    warnings,
    h("div", { class: "card" },
      h("dl", { class: "facts" },
        fact("Latest version", bucket.latest_version ? versionLink(name, bucket.latest_version, bucket.latest_version) : "none"),
        fact("Versions", String(bucket.version_count ?? shownVersions.length)),
        fact("Created", when(bucket.created_at)),
        fact("Updated", when(bucket.updated_at)),
        fact("Labels", labelList(bucket.labels)))),
    section("Versions",
      h("p", { class: "quiet small" }, "Newest first. Ancestry is as of the last compliance sweep or ingestion; a version's page checks it live."),
      liveTable(`Versions of ${name}`, versionColumns, versionRows, { empty: "No versions.", id: "versions-table" }),
      moreVersions),
    section("Channels", channelTable),
    section("Activity", activityDisclosure(name)));
}

// A <details> whose content is fetched the first time it is opened (again after a failure).
function lazyDisclosure(attrs, summary, load) {
  const body = h("div", { class: "history" });
  const details = h("details", attrs, h("summary", {}, ...summary), body);
  let loaded = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || loaded) return;
    loaded = true;
    body.append(loading());
    try {
      append(clear(body), await load());
    } catch (error) {
      loaded = false;
      clear(body).append(h("p", { class: "form-error" }, error.sentence || error.message));
    }
  });
  return details;
}

// The bucket's audit trail (GET /buckets/{bucket}/events), loaded when opened.
function activityDisclosure(bucket) {
  return lazyDisclosure({ id: "activity" }, ["Show recent changes"], async () => {
    const page = await api("GET", `/buckets/${enc(bucket)}/events`, { params: { limit: 25 } });
    const columns = ["When", "Who", "What", "Target"];
    return [table("Recent changes", columns, (page.items || []).map((e) => row(columns, [
      when(e.time), e.actor || "—", e.action, e.target || "—",
    ])), { empty: "No changes recorded.", captionHidden: true }),
    page.next_token ? h("p", { class: "quiet small" }, "Showing the newest 25 changes.") : null];
  });
}

function fact(term, value) {
  return h("div", { class: "fact" }, h("dt", {}, term), h("dd", {}, value));
}

function channelsByVersion(channels) {
  const map = new Map();
  for (const c of channels || []) {
    if (!c.version) continue;
    map.set(c.version, [...(map.get(c.version) || []), c.name]);
  }
  return map;
}

const CAUSES = {
  assign: "assigned", unassign: "unassigned", rollback: "rolled back", ingest: "moved by a new version",
  revoke: "moved off a revoked version", restore: "moved on restore", delete: "moved off a deleted version",
  create: "created",
};

function historyDisclosure(bucket, channel) {
  const summary = ["Show history", h("span", { class: "visually-hidden" }, ` of ${channel}`)];
  return lazyDisclosure({}, summary, async () => {
    const page = await api("GET", `/buckets/${enc(bucket)}/channels/${enc(channel)}/history`, { params: { limit: 50 } });
    const items = page.items || [];
    return [items.length
      ? h("ol", { class: "timeline" }, items.map((e) => h("li", {},
        when(e.at), " — ", CAUSES[e.cause] || e.cause, ": ",
        e.from_version ? versionLink(bucket, e.from_version, e.from_version) : "nothing", " → ",
        e.to_version ? versionLink(bucket, e.to_version, e.to_version) : "nothing",
        h("span", { class: "quiet" }, ` by ${e.author}`))))
      : h("p", { class: "quiet" }, "No history."),
      page.next_token ? h("p", { class: "quiet small" }, "Showing the newest 50 changes.") : null];
  });
}

// ---- one version ---------------------------------------------------------------------------

async function renderVersion(ctx, bucketName, ref) {
  const [version, lineage, channels] = await Promise.all([
    api("GET", `/buckets/${enc(bucketName)}/versions/${enc(ref)}`),
    api("GET", `/buckets/${enc(bucketName)}/versions/${enc(ref)}/ancestry`),
    allPages(`/buckets/${enc(bucketName)}/channels`, {}, 2),
  ]);
  const name = version.name;
  const holding = (channels.items || []).filter((c) => c.version === name).map((c) => c.name);
  const parents = lineage.parents || [];
  const children = lineage.children || [];
  const liveStatus = lineage.ancestry_status;

  // Warnings in words, from the live check (the stored messages when the check gives none).
  const problems = parents.filter((p) => p.status && p.status !== "up_to_date");
  const warningLines = problems.length
    ? problems.map((p) => ancestrySentence(p.status, p.message || ""))
    : (version.ancestry_messages || []).map((m) => ancestrySentence(version.ancestry_status, m));
  const worst = liveStatus || version.ancestry_status;
  // A revoked version's revocation panel says what matters; its links' warnings would only repeat it.
  const warnings = version.status !== "revoked" && warningLines.length && worst && worst !== "up_to_date"
    ? callout(worst === "parent_revoked" ? "bad" : "warn", worst === "parent_revoked" ? "✕" : "!",
      `${(ANCESTRY_STATUS[worst] || [worst])[0]}: this version's ancestry needs attention`,
      h("ul", { class: "warnings", id: "ancestry-warnings" }, warningLines.map((line) => h("li", {}, line))),
      worst === "out_of_date" ? h("p", { class: "small" }, "Rebuild it from the parent's current version, then move its channels.") : null)
    : null;

  const columnsParents = ["Parent", "Channel", "How it was found", "Status", "Details"];
  const parentRows = parents.map((p) => row(columnsParents, [
    p.found_by !== "unresolved" && p.bucket && p.version ? versionLink(p.bucket, p.version)
      : [p.bucket, p.version || p.channel, p.source_artifact].filter(Boolean).join(" ") || "unknown",
    p.channel || h("span", { class: "quiet" }, "—"),
    FOUND_BY[p.found_by] || p.found_by,
    ancestryBadge(p.status),
    p.message ? ancestrySentence(p.status, p.message) : "",
  ]));
  const columnsChildren = ["Child", "Status", "Ancestry"];
  const childRows = children.map((c) => row(columnsChildren, [
    versionLink(c.bucket, c.version), versionBadge(c.status), ancestryBadge(c.ancestry_status),
  ]));

  show(ctx, `${bucketName} ${name}`,
    breadcrumbs(["Buckets", "#"], [bucketName, bucketHref(bucketName)], [name]),
    heading(`${bucketName} ${name}`,
      h("p", { class: "status-line", id: "version-status" },
        h("span", { class: "quiet" }, "Status "), versionBadge(version.status),
        h("span", { class: "quiet" }, " Ancestry "), ancestryBadge(worst),
        liveStatus && version.ancestry_status && liveStatus !== version.ancestry_status
          ? h("span", { class: "quiet small" }, ` checked now; the last sweep recorded “${(ANCESTRY_STATUS[version.ancestry_status] || [version.ancestry_status])[0].toLowerCase()}”`)
          : null)),
    revocationPanel(version),
    warnings,
    h("div", { class: "card" },
      h("dl", { class: "facts" },
        fact("Fingerprint", h("code", { class: "fingerprint wrap" }, version.fingerprint)),
        fact("Created", when(version.created_at)),
        fact("Updated", when(version.updated_at)),
        fact("Builds", String(version.build_count ?? (version.builds || []).length)),
        fact("On channels", holding.length ? holding.join(", ") : "none"))),
    section("Parents", table("Parents", columnsParents, parentRows,
      { empty: "No parents: this version was not built from another image in the registry.", captionHidden: true })),
    section("Children", table("Children", columnsChildren, childRows,
      { empty: "No version in the registry was built from this one.", captionHidden: true })),
    section("Builds and artifacts", buildsBlock(version.builds || [])),
    actionsBlock(bucketName, version, channels.items || []));
}

function revocationPanel(version) {
  const r = version.revocation;
  if (!r || version.status === "active") return null;
  const details = [
    h("p", {}, h("strong", {}, "Reason: "), r.reason || "none given"),
    r.revocation_type === "inherited" && r.inherited_from
      ? h("p", {}, "Inherited from its ancestor ",
        versionLink(r.inherited_from.split("/")[0], r.inherited_from.split("/")[1], r.inherited_from), ".")
      : null,
    r.revoked_by ? h("p", {}, "By ", r.revoked_by, r.revoked_at ? [" on ", when(r.revoked_at)] : null, ".") : null,
    r.skip_descendants_revocation ? h("p", {}, "Its descendants were not revoked (they are flagged “parent revoked”).") : null,
    r.disable_rollback_channels ? h("p", {}, "Its channels were kept on it: consumers asking for them get an error rather than another version.") : null,
    r.cascade_pending ? h("p", {}, "Still revoking its descendants; the compliance sweep finishes it.") : null,
  ];
  if (version.status === "revocation_scheduled") {
    return callout("warn", "◷", ["Revocation scheduled for ", when(r.revoke_at)], details);
  }
  return callout("bad", "✕", "This version is revoked", details);
}

function buildsBlock(builds) {
  if (!builds.length) return h("p", { class: "empty" }, "No builds.");
  const byPlatform = new Map();
  for (const b of builds) byPlatform.set(b.platform, [...(byPlatform.get(b.platform) || []), b]);
  const artifactColumns = ["Platform", "Region", "Artifact ID", "Build"];
  const artifactRows = [];
  for (const [platform, list] of [...byPlatform.entries()].sort()) {
    for (const b of list) {
      const artifacts = [...(b.artifacts || [])].sort((x, y) => (x.region || "").localeCompare(y.region || ""));
      for (const a of artifacts) {
        artifactRows.push(row(artifactColumns, [platform, a.region || h("span", { class: "quiet" }, "no region"),
          h("code", { class: "wrap" }, a.external_id), b.component_type]));
      }
    }
  }
  const buildColumns = ["Build", "Platform", "Built", "Run", "Source image", "Labels", "Files"];
  const buildRows = builds.map((b) => row(buildColumns, [
    h("span", { class: "strong" }, b.component_type),
    `${b.platform}${b.builder_type && b.builder_type !== b.platform ? ` (${b.builder_type})` : ""}`,
    when(b.build_time || b.created_at),
    b.packer_run_uuid ? fingerprint(b.packer_run_uuid) : h("span", { class: "quiet" }, "—"),
    b.source_artifact ? h("code", { class: "wrap" }, b.source_artifact) : h("span", { class: "quiet" }, "—"),
    labelList(b.labels),
    filesBlock(b),
  ]));
  return [
    h("h3", {}, "Artifacts by platform and region"),
    table("Artifacts", artifactColumns, artifactRows, { empty: "No artifacts.", captionHidden: true }),
    h("h3", {}, `Builds (${builds.length})`),
    table("Builds", buildColumns, buildRows, { captionHidden: true }),
  ];
}

// What a local builder (qemu, vmware-iso, virtualbox-*, …) produced: its files with their sizes.
// A few are listed as they are; more go behind a summary with their count and total size. The
// registry keeps at most 100 per build: `file_count` above the list's length says how many more.
function filesBlock(build) {
  const files = build.files || [];
  const count = Math.max(build.file_count || 0, files.length);
  if (!count) return h("span", { class: "quiet" }, "—");
  const list = h("ul", { class: "files" }, files.map((f) =>
    h("li", {}, h("code", { class: "wrap" }, f.name), " ", sizeOf(f.size))));
  const notKept = count - files.length;
  const more = notKept ? h("p", { class: "quiet small" }, `${notKept.toLocaleString("en")} more not kept by the registry`) : null;
  if (files.length <= 3 && !notKept) return list;
  const total = files.reduce((sum, f) => sum + (f.size || 0), 0);
  const summary = `${count.toLocaleString("en")} files${total ? `, ${humanBytes(total)}${notKept ? " in those kept" : ""}` : ""}`;
  return h("details", { class: "files" }, h("summary", {}, summary), list, more);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

// 5471993856 → "5.1 GiB"; 1050037760 → "1.0 GiB"; 689 → "689 B" (binary units).
function humanBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) { // 1001 MiB reads better as 1.0 GiB
    value /= 1024;
    unit += 1;
  }
  return unit ? `${value.toFixed(value < 10 ? 1 : 0)} ${BYTE_UNITS[unit]}` : `${value} B`;
}

function sizeOf(bytes) {
  if (typeof bytes !== "number") return h("span", { class: "quiet small" }, "size unknown");
  return h("span", { class: "size", title: `${bytes.toLocaleString("en")} bytes` }, humanBytes(bytes));
}

// ---- actions (contributors) ----------------------------------------------------------------

function actionsBlock(bucket, version, channels) {
  const name = version.name;
  if (!canChange()) {
    return section("Actions", h("p", { class: "quiet" },
      "Your token is a viewer token: assigning channels, revoking and restoring need a contributor token."));
  }
  const assignable = channels.filter((c) => !c.managed && c.name !== "latest");
  const blocks = [];
  blocks.push(h("p", { class: "quiet small" },
    "These change the registry and need a contributor token; the registry explains any refusal here."));

  // Assign to a channel (an existing one, or a new one).
  const channelInput = h("input", { id: "assign-channel", name: "channel", list: "channel-options", required: true,
    autocomplete: "off", spellcheck: "false", pattern: "[a-z0-9][a-z0-9-]{0,63}", "aria-describedby": "assign-help" });
  const assignForm = h("form", { class: "action", id: "assign-form", novalidate: true },
    h("h3", {}, "Assign to a channel"),
    h("div", { class: "field" },
      h("label", { for: "assign-channel" }, "Channel"),
      channelInput,
      h("datalist", { id: "channel-options" }, assignable.map((c) => h("option", { value: c.name }, c.version ? `now ${c.version}` : "unassigned"))),
      h("p", { class: "help", id: "assign-help" },
        assignable.length ? `Existing: ${assignable.map((c) => `${c.name} (${c.version || "unassigned"})`).join(", ")}. A new name creates the channel.`
          : "No channels yet: a name creates one (lower-case letters, digits and dashes).")),
    formError(),
    h("button", { type: "submit", class: "button primary" }, `Assign ${name}`));
  assignForm.addEventListener("submit", (event) => submitAction(event, assignForm, async () => {
    const channel = channelInput.value.trim();
    if (!channel) throw new Error("Name a channel.");
    if (channels.some((c) => c.name === channel)) {
      await api("PATCH", `/buckets/${enc(bucket)}/channels/${enc(channel)}`, { body: { version: name } });
    } else {
      await api("POST", `/buckets/${enc(bucket)}/channels`, { body: { name: channel, version: name } });
    }
    return `${bucket} channel ${channel} now points at ${name}.`;
  }));
  if (version.status !== "revoked") blocks.push(assignForm);

  // Revoke (now or later, with or without descendants).
  if (version.status !== "revoked") {
    const reason = h("input", { id: "revoke-reason", name: "reason", required: true, maxlength: 500, autocomplete: "off" });
    const at = h("input", { id: "revoke-at", name: "revoke_at", type: "datetime-local", "aria-describedby": "revoke-at-help" });
    const descendants = h("input", { id: "revoke-descendants", name: "descendants", type: "checkbox", checked: true });
    const keep = h("input", { id: "revoke-keep", name: "keep", type: "checkbox" });
    const revokeForm = h("form", { class: "action danger-zone", id: "revoke-form", novalidate: true },
      h("h3", {}, version.status === "revocation_scheduled" ? "Revoke now or reschedule" : "Revoke"),
      h("div", { class: "field" }, h("label", { for: "revoke-reason" }, "Reason (required)"), reason),
      h("div", { class: "field" }, h("label", { for: "revoke-at" }, "Revoke at (optional)"), at,
        h("p", { class: "help", id: "revoke-at-help" }, "Your local time. Empty revokes now; a future time schedules it for the sweep.")),
      h("div", { class: "check" }, descendants, h("label", { for: "revoke-descendants" }, "Also revoke every version built from it")),
      h("div", { class: "check" }, keep, h("label", { for: "revoke-keep" }, "Keep it on its channels (no rollback; consumers get an error)")),
      formError(),
      h("button", { type: "submit", class: "button danger" }, `Revoke ${name}`));
    revokeForm.addEventListener("submit", (event) => submitAction(event, revokeForm, async () => {
      if (!reason.value.trim()) {
        reason.focus();
        throw new Error("Give a reason: consumers and auditors see it.");
      }
      const body = { reason: reason.value.trim() };
      if (at.value) {
        const date = new Date(at.value);
        if (Number.isNaN(date.getTime())) throw new Error("The revocation time is not a valid date.");
        body.revoke_at = date.toISOString();
      }
      if (!descendants.checked) body.skip_descendants_revocation = true;
      if (keep.checked) body.disable_rollback_channels = true;
      const result = await api("POST", `/buckets/${enc(bucket)}/versions/${enc(name)}/revoke`, { body });
      return result && result.status === "revocation_scheduled"
        ? `${bucket} ${name} will be revoked at ${dateFormat.format(new Date(result.revocation.revoke_at))}.`
        : `${bucket} ${name} is revoked${descendants.checked ? ", with its descendants" : ""}.`;
    }));
    blocks.push(revokeForm);
  }

  // Restore (undo a revocation, or cancel a scheduled one).
  if (version.status !== "active") {
    const scheduled = version.status === "revocation_scheduled";
    const restoreForm = h("form", { class: "action", id: "restore-form", novalidate: true },
      h("h3", {}, scheduled ? "Cancel the scheduled revocation" : "Restore"),
      h("p", { class: "help" }, scheduled ? "The version stays active."
        : "Makes it active again, with the descendants that inherited its revocation. Channels are not moved back, and a revoked version cannot be assigned to one until it is restored."),
      formError(),
      h("button", { type: "submit", class: "button secondary" }, scheduled ? "Cancel revocation" : `Restore ${name}`));
    restoreForm.addEventListener("submit", (event) => submitAction(event, restoreForm, async () => {
      await api("POST", `/buckets/${enc(bucket)}/versions/${enc(name)}/restore`, { body: {} });
      return scheduled ? `The revocation of ${bucket} ${name} is cancelled.` : `${bucket} ${name} is restored.`;
    }));
    blocks.push(restoreForm);
  }
  return section("Actions", h("div", { class: "actions" }, blocks));
}

function formError() {
  return h("p", { class: "form-error", role: "alert" });
}

async function submitAction(event, form, action) {
  event.preventDefault();
  const button = form.querySelector("button[type=submit]");
  const error = form.querySelector(".form-error");
  error.textContent = "";
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const message = await action();
    await route({ focus: true });
    showNotice(message);
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) return;
    error.textContent = failure instanceof ApiError ? failure.sentence : failure.message;
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// ---- compliance ----------------------------------------------------------------------------

async function renderCompliance(ctx) {
  const report = await api("GET", "/compliance/report", { params: { limit: PAGE_SIZE } });
  const last = report.last_sweep;
  const counts = report.counts || {};
  const flaggedColumns = ["Version", "Status", "Why", "Flagged"];
  const flaggedBody = h("tbody");
  const addFlagged = (items) => items.forEach((f) => flaggedBody.append(row(flaggedColumns, [
    versionLink(f.bucket, f.version), ancestryBadge(f.ancestry_status),
    (f.messages || []).length ? h("ul", { class: "plain" }, f.messages.map((m) => h("li", {}, ancestrySentence(f.ancestry_status, m)))) : "",
    when(f.flagged_at),
  ])));
  addFlagged(report.flagged || []);
  const more = moreButton("Load more", report.next_token,
    (token) => api("GET", "/compliance/report", { params: { limit: PAGE_SIZE, next_token: token } }),
    (page) => addFlagged(page.flagged || []));

  const sweepForm = h("form", { id: "sweep-form", class: "inline-form", novalidate: true },
    formError(), h("button", { type: "submit", class: "button primary" }, "Run a sweep now"));
  sweepForm.addEventListener("submit", (event) => submitAction(event, sweepForm, async () => {
    const result = await api("POST", "/compliance/sweep", { body: {} });
    const changed = (result.ancestry_changes || []).length;
    return `Sweep finished: ${changed} ancestry change${changed === 1 ? "" : "s"}, ${(result.revocations_applied || []).length} scheduled revocation(s) applied.`;
  }));

  const lastBlock = last
    ? [
      h("dl", { class: "facts" },
        fact("Started", when(last.started_at)), fact("Finished", when(last.finished_at)),
        fact("Scheduled revocations applied", String((last.revocations_applied || []).length)),
        fact("Changes processed", String(last.markers_processed ?? 0)),
        fact("Parents found", String((last.parents_resolved || []).length)),
        fact("Channels repaired", String((last.channels_repaired || []).length)),
        fact("Channels serving a revoked version", String((last.channels_serving_revoked || []).length))),
      last.more_pending ? h("p", {}, "More changes are waiting: the next sweep continues.") : null,
      (last.revocations_applied || []).length ? [h("h3", {}, "Revocations applied"),
        h("ul", {}, last.revocations_applied.map((r) => h("li", {}, typeof r === "string" ? r : JSON.stringify(r))))] : null,
      (last.ancestry_changes || []).length ? [h("h3", {}, "Ancestry changes"),
        h("ul", {}, last.ancestry_changes.map((c) => h("li", {},
          versionLink(c.bucket, c.version), ": ",
          (ANCESTRY_STATUS[c.from] || [c.from || "no status"])[0].toLowerCase(), " → ",
          (ANCESTRY_STATUS[c.to] || [c.to || "no status"])[0].toLowerCase(),
          (c.messages || []).length ? ` (${c.messages.join("; ")})` : "")))] : null,
      (last.cascades || []).length ? [h("h3", {}, "Revocation cascades"),
        h("ul", {}, last.cascades.map((c) => h("li", {},
          `${c.source} (${c.mode}): ${c.versions_changed} version(s) changed, ${c.finished ? "finished" : "continues next sweep"}`)))] : null,
    ]
    : h("p", { class: "empty" }, "No sweep has run yet.");

  show(ctx, "Compliance",
    heading("Compliance"),
    h("div", { class: "card" },
      h("dl", { class: "facts counts" },
        fact("Outdated", String(counts.out_of_date ?? 0)),
        fact("Parent revoked", String(counts.parent_revoked ?? 0)),
        fact("Undetermined", String(counts.undetermined ?? 0)),
        fact("Unresolved parent hints", String(counts.unresolved_parents ?? 0)),
        fact("Channels serving a revoked version", String(counts.channels_serving_revoked ?? 0)),
        fact("Upcoming revocations", String(counts.upcoming_revocations ?? 0))),
      sweepForm),
    section("Channels serving a revoked version", liveTable("Channels serving a revoked version",
      ["Channel", "Version", "Why"], h("tbody", {}, (report.channels_serving_revoked || []).map((c) => row(
        ["Channel", "Version", "Why"], [`${c.bucket} / ${c.channel}`,
          c.version ? versionLink(c.bucket, c.version, c.version) : "", revocationWords(c.revocation)]))),
      { empty: "No channel serves a revoked version.", id: "serving-revoked-table" })),
    section("Upcoming revocations", liveTable("Upcoming revocations", ["Version", "When", "Why"],
      h("tbody", {}, (report.upcoming_revocations || []).map((u) => row(["Version", "When", "Why"],
        [versionLink(u.bucket, u.version), when(u.revoke_at), u.reason || ""]))),
      { empty: "No revocation is scheduled.", id: "upcoming-table" })),
    section("Flagged versions", liveTable("Flagged versions", flaggedColumns, flaggedBody,
      { empty: "No version is flagged: every image with a known parent is up to date.", id: "flagged-table" }), more),
    section("Last sweep", lastBlock));
}

// ---- ingestions ----------------------------------------------------------------------------

async function renderIngestions(ctx, status) {
  const filter = ["all", "accepted", "partial", "rejected"].includes(status) ? status : "rejected";
  const page = await api("GET", "/ingestions", { params: { limit: 50, status: filter === "all" ? null : filter } });
  const select = h("select", { id: "ingestion-status" },
    [["rejected", "Rejected"], ["partial", "Partly accepted"], ["accepted", "Accepted"], ["all", "All"]]
      .map(([value, text]) => h("option", { value, selected: value === filter }, text)));
  select.addEventListener("change", () => {
    location.hash = hashFor({ view: "ingestions", status: select.value });
  });
  const columns = ["Received", "Object", "Status", "Reasons", "Versions"];
  const body = h("tbody");
  const add = (items) => items.forEach((i) => body.append(row(columns, [
    when(i.received_at),
    h("code", { class: "wrap" }, `s3://${i.s3_bucket}/${i.key}`),
    badge(INGESTION_STATUS[i.status] || [i.status, "muted", "?"]),
    (i.reasons || []).length ? h("ul", { class: "plain" }, i.reasons.map((r) => h("li", {}, r))) : h("span", { class: "quiet" }, "—"),
    (i.versions || []).length ? h("ul", { class: "plain" }, i.versions.map((v) => h("li", {},
      versionLink(v.bucket, v.version), v.created ? " (new)" : "", ` ${v.builds_added} build(s) added`)))
      : h("span", { class: "quiet" }, "none"),
  ])));
  add(page.items || []);
  const more = moreButton("Load more", page.next_token,
    (token) => api("GET", "/ingestions", { params: { limit: 50, next_token: token, status: filter === "all" ? null : filter } }),
    (nextPage) => add(nextPage.items || []));
  show(ctx, "Ingestions",
    heading("Ingestions", h("p", { class: "lead" }, "Every manifest object the registry received, with the reason for each problem.")),
    h("div", { class: "card" },
      h("div", { class: "toolbar" }, h("div", { class: "field" }, h("label", { for: "ingestion-status" }, "Show"), select)),
      liveTable("Ingestion records", columns, body,
        { empty: filter === "rejected" ? "No manifest has been rejected." : "No ingestion records.", id: "ingestions-table" }),
      more));
}

// ---- start ---------------------------------------------------------------------------------

function start() {
  $("#signin-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", () => signedOut("You are signed out."));
  $("#skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    ($("#view-title") || $("#main")).focus();
  });
  window.addEventListener("hashchange", () => route());
  // A link to the view already shown reloads it (no hashchange fires for it).
  document.addEventListener("click", (event) => {
    const link = event.target.closest('a[href^="#"]');
    if (!link || link.id === "skip-link" || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (link.getAttribute("href") === (location.hash || "#")) {
      event.preventDefault();
      route();
    }
  });
  route({ focus: false });
}

start();
