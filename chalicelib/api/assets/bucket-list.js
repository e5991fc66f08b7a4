// The bucket list (the page's home): every bucket with its latest version, channels and a
// badge per kind of problem, a search box, and the sweep's findings on top.

import { ApiError, PAGE_SIZE, allPages, api, enc, pool } from "./api.js";
import { moreButton } from "./controls.js";
import { callout, clear, h, heading, labelList, td } from "./dom.js";
import { ancestryWord, badge, byChannelName, findingsInline, revocationWords, versionBadge, when } from "./format.js";
import { bucketHref, versionLink } from "./links.js";

// ---- what the list asks the API: all of it here. GET /buckets carries each bucket's channels
// and counts (`channels`, `status_counts`), so the list makes no request per bucket; only a
// bucket created before the registry kept them (both null) is asked for them one by one.

const POOL = 4; // concurrent per-bucket requests, for buckets from before the aggregates

// A page of buckets (the first without `token`).
const bucketsPage = (token) => api("GET", "/buckets", { params: { limit: PAGE_SIZE, next_token: token } });

// The sweep's flagged versions (up to 3 pages) for the badges and the summary; null if not readable.
const flaggedReport = () => allPages("/compliance/report", {}, 3, "flagged").catch(() => null);

// A bucket's channels and what its badges count: from the list itself, or (a bucket from
// before the aggregates) one request each: its channels, its newest PAGE_SIZE versions.
async function bucketDetails(bucket) {
  const [channels, versions] = await Promise.all([
    bucket.channels ? { items: bucket.channels } : api("GET", `/buckets/${enc(bucket.name)}/channels`, { params: { limit: PAGE_SIZE } }),
    bucket.status_counts ? null : api("GET", `/buckets/${enc(bucket.name)}/versions`, { params: { limit: PAGE_SIZE } }),
  ]);
  return { channels: channels.items || [], versions: versions?.items || null, statusCounts: bucket.status_counts };
}

// ---- the view

let searchText = ""; // what the search box held, kept while the person looks at other views

export async function renderBuckets(ctx) {
  const [list, report] = await Promise.all([
    bucketsPage(null),
    flaggedReport(),
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
    type: "search", id: "bucket-search", autocomplete: "off", value: searchText,
    placeholder: "name, description or label", "aria-controls": "bucket-table",
  });
  const more = moreButton("Load more buckets", list.next_token,
    bucketsPage,
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
    // Channels and version statuses, a few buckets at a time.
    pool(items, POOL, async (bucket) => {
      if (!ctx.current()) return;
      const entry = rows.get(bucket.name);
      try {
        const details = await bucketDetails(bucket);
        clear(entry.channelCell).append(channelSummary(bucket.name, details.channels));
        clear(entry.statusCell).append(bucketBadges(bucket, flagged.get(bucket.name), details.versions, details.statusCounts));
      } catch (error) {
        clear(entry.channelCell).append(h("span", { class: "quiet" }, error.sentence || "not loaded"));
        if (!(error instanceof ApiError) || error.status !== 401) clear(entry.statusCell).append(h("span", { class: "quiet" }, "not checked"));
      }
    });
  }

  function filter() {
    const needle = search.value.trim().toLowerCase();
    searchText = search.value;
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
  if (!ctx.show("Buckets", content)) return;
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

function flaggedCallout(flagged) {
  if (!flagged.length) return null;
  const byStatus = {};
  for (const item of flagged) byStatus[item.ancestry_status] = (byStatus[item.ancestry_status] || 0) + 1;
  const words = Object.entries(byStatus).map(([s, n]) => `${n} ${ancestryWord(s).toLowerCase()}`).join(", ");
  const shown = flagged.slice(0, 5);
  return callout("warn", "!", `${flagged.length} version${flagged.length === 1 ? " needs" : "s need"} attention (${words}).`,
    h("ul", { id: "flagged-summary" }, shown.map((f) => h("li", {},
      versionLink(f.bucket, f.version), " — ",
      (f.findings || []).length ? findingsInline(f.findings) : `${ancestryWord(f.ancestry_status)}.`))),
    h("p", {}, flagged.length > shown.length ? `And ${flagged.length - shown.length} more. ` : "",
      "Found by the compliance sweep: ", h("a", { href: "#view=compliance" }, "see the compliance report"), "."));
}

function channelSummary(bucket, channels) {
  if (!channels.length) return h("span", { class: "quiet" }, "none");
  const ordered = [...channels].sort(byChannelName);
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
