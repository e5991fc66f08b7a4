// The compliance report: counts, channels serving a revoked version, upcoming revocations,
// flagged versions, abandoned drafts, the last sweep; and a button to run a sweep now.

import { PAGE_SIZE, api } from "./api.js";
import { moreButton, submitAction } from "./controls.js";
import { fact, formError, h, heading, liveTable, row, section } from "./dom.js";
import { ageWords, ancestryBadge, ancestryWord, findingList, fingerprint, revocationWords, when } from "./format.js";
import { versionLink } from "./links.js";

export async function renderCompliance(ctx) {
  const report = await api("GET", "/compliance/report", { params: { limit: PAGE_SIZE } });
  const last = report.last_sweep;
  const counts = report.counts || {};
  const flaggedColumns = ["Version", "Status", "Why", "Flagged"];
  const flaggedBody = h("tbody");
  const addFlagged = (items) => items.forEach((f) => flaggedBody.append(row(flaggedColumns, [
    versionLink(f.bucket, f.version), ancestryBadge(f.ancestry_status),
    (f.findings || []).length ? findingList(f.findings) : "",
    when(f.flagged_at),
  ])));
  addFlagged(report.flagged || []);
  const more = moreButton("Load more", report.next_token,
    (token) => api("GET", "/compliance/report", { params: { limit: PAGE_SIZE, next_token: token } }),
    (page) => addFlagged(page.flagged || []));

  const sweepForm = h("form", { id: "sweep-form", class: "inline-form", novalidate: true },
    formError(), h("button", { type: "submit", class: "button primary" }, "Run a sweep now"));
  sweepForm.addEventListener("submit", (event) => submitAction(ctx, event, sweepForm, async () => {
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
          ancestryWord(c.from, c.from || "no status").toLowerCase(), " → ",
          ancestryWord(c.to, c.to || "no status").toLowerCase(),
          (c.findings || []).length ? findingList(c.findings) : "")))] : null,
      (last.cascades || []).length ? [h("h3", {}, "Revocation cascades"),
        h("ul", {}, last.cascades.map((c) => h("li", {},
          `${c.source} (${c.mode}): ${c.versions_changed} version(s) changed, ${c.finished ? "finished" : "continues next sweep"}`)))] : null,
    ]
    : h("p", { class: "empty" }, "No sweep has run yet.");

  ctx.show("Compliance",
    heading("Compliance"),
    h("div", { class: "card" },
      h("dl", { class: "facts counts" },
        fact("Outdated", String(counts.out_of_date ?? 0)),
        fact("Parent revoked", String(counts.parent_revoked ?? 0)),
        fact("Undetermined", String(counts.undetermined ?? 0)),
        fact("Unresolved parent hints", String(counts.unresolved_parents ?? 0)),
        fact("Channels serving a revoked version", String(counts.channels_serving_revoked ?? 0)),
        fact("Upcoming revocations", String(counts.upcoming_revocations ?? 0)),
        fact("Abandoned drafts", String(counts.abandoned_drafts ?? 0))),
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
    section("Abandoned drafts", abandonedDrafts(report)),
    section("Last sweep", lastBlock));
}

// Versions started through the HCP API whose builds stopped (a failed or cancelled packer
// build): never served, never deleted automatically; each links to its page, which offers
// the deletion. A late build done still completes one.
function abandonedDrafts(report) {
  const columns = ["Draft", "Fingerprint", "Started by", "Last build activity", "Quiet for", "Builds done"];
  const drafts = report.abandoned_drafts || [];
  return [
    h("p", { class: "quiet small" }, "Started through the HCP API, with no build activity for a while (DRAFT_ABANDONED_AFTER, 24 hours unless set otherwise). Open one to delete it."),
    liveTable("Abandoned drafts", columns, h("tbody", {}, drafts.map((d) => row(columns, [
      versionLink(d.bucket, d.fingerprint, `${d.bucket} v0`), fingerprint(d.fingerprint), d.author || "",
      when(d.last_activity_at), ageWords(d.idle_seconds), `${d.done_builds} of ${d.build_count}`],
    { dataset: { fingerprint: d.fingerprint } }))), { empty: "No abandoned draft.", id: "abandoned-table" }),
    report.abandoned_drafts_truncated ? h("p", { class: "quiet small" }, `The ${drafts.length} quiet the longest are listed.`) : null,
  ];
}
