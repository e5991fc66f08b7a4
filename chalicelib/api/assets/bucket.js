// One bucket: its versions (newest first, with their status and ancestry), its channels with
// their history, its labels and its audit trail.

import { PAGE_SIZE, allPages, api, enc } from "./api.js";
import { lazyDisclosure, moreButton } from "./controls.js";
import { breadcrumbs, callout, fact, h, heading, labelList, liveTable, row, section, table } from "./dom.js";
import { ancestryBadge, ancestryWord, byChannelName, findingsInline, fingerprint, versionBadge, when } from "./format.js";
import { versionHref, versionLink, versionRef } from "./links.js";

export async function renderBucket(ctx, name) {
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
        h("a", { href: versionHref(name, versionRef(v)), class: "strong" }, v.name),
        fingerprint(v.fingerprint),
        when(v.created_at),
        String(v.build_count ?? "—"),
        versionBadge(v.status),
        ancestryBadge(v.ancestry_status),
        (holders.get(v.name) || []).join(", ") || h("span", { class: "quiet" }, "—"),
      ], { dataset: { version: versionRef(v) } }));
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
        (v.ancestry_findings || []).length ? findingsInline(v.ancestry_findings) : `${ancestryWord(v.ancestry_status)}.`))))
    : null;

  const channelColumns = ["Channel", "Version", "Version status", "Updated", "History"];
  const channelTable = table("Channels", channelColumns, [...channels.items]
    .sort(byChannelName)
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

  ctx.show(name,
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
