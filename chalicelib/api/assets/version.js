// One version: its status and revocation, ancestry warnings in words, parents and children,
// builds with their artifacts and files, and the contributors' actions (actions.js).

import { actionsBlock } from "./actions.js";
import { ApiError, allPages, api, enc } from "./api.js";
import { breadcrumbs, callout, fact, h, heading, labelList, row, section, table } from "./dom.js";
import { ancestryBadge, ancestrySentence, ancestryWord, findingLine, fingerprint, humanBytes, sizeOf, versionBadge, when } from "./format.js";
import { bucketHref, isDraft, versionLink } from "./links.js";

export async function renderVersion(ctx, bucketName, ref) {
  const [version, lineage, channels] = await Promise.all([
    api("GET", `/buckets/${enc(bucketName)}/versions/${enc(ref)}`),
    // A draft has no ancestry yet (409: it has no number until its last build is done).
    api("GET", `/buckets/${enc(bucketName)}/versions/${enc(ref)}/ancestry`)
      .catch((error) => { if (error instanceof ApiError && error.status === 409) return {}; throw error; }),
    allPages(`/buckets/${enc(bucketName)}/channels`, {}, 2),
  ]);
  const name = version.name;
  const holding = (channels.items || []).filter((c) => c.version === name).map((c) => c.name);
  const parents = lineage.parents || [];
  const children = lineage.children || [];
  const liveStatus = lineage.ancestry_status;

  // Warnings in words, from the live check (the stored messages when the check gives none).
  const problems = parents.filter((p) => p.status && p.status !== "up_to_date");
  const warningLines = (problems.length ? problems : version.ancestry_findings || []).map(findingLine);
  const worst = liveStatus || version.ancestry_status;
  // A revoked version's revocation panel says what matters; its links' warnings would only repeat it.
  const warnings = version.status !== "revoked" && warningLines.length && worst && worst !== "up_to_date"
    ? callout(worst === "parent_revoked" ? "bad" : "warn", worst === "parent_revoked" ? "✕" : "!",
      `${ancestryWord(worst)}: this version's ancestry needs attention`,
      h("ul", { class: "warnings", id: "ancestry-warnings" }, warningLines.map((line) => h("li", {}, line))),
      worst === "out_of_date" ? h("p", { class: "small" }, "Rebuild it from the parent's current version, then move its channels.") : null)
    : null;

  const columnsParents = ["Parent", "Channel", "How it was found", "Status", "Details"];
  const parentRows = parents.map((p) => row(columnsParents, [
    p.found_by !== "unresolved" && p.bucket && p.version ? versionLink(p.bucket, p.version)
      : [p.bucket, p.version || p.channel, p.source_artifact].filter(Boolean).join(" ") || "unknown",
    p.channel || h("span", { class: "quiet" }, "—"),
    p.how || "",
    ancestryBadge(p.status),
    p.message ? ancestrySentence(p.status, p.message) : "",
  ]));
  const columnsChildren = ["Child", "Status", "Ancestry"];
  const childRows = children.map((c) => row(columnsChildren, [
    versionLink(c.bucket, c.version), versionBadge(c.status), ancestryBadge(c.ancestry_status),
  ]));

  ctx.show(`${bucketName} ${name}`,
    breadcrumbs(["Buckets", "#"], [bucketName, bucketHref(bucketName)], [name]),
    heading(`${bucketName} ${name}`,
      h("p", { class: "status-line", id: "version-status" },
        h("span", { class: "quiet" }, "Status "), versionBadge(version.status),
        h("span", { class: "quiet" }, " Ancestry "), ancestryBadge(worst),
        liveStatus && version.ancestry_status && liveStatus !== version.ancestry_status
          ? h("span", { class: "quiet small" }, ` checked now; the last sweep recorded “${ancestryWord(version.ancestry_status).toLowerCase()}”`)
          : null)),
    revocationPanel(version),
    draftPanel(version),
    warnings,
    h("div", { class: "card" },
      h("dl", { class: "facts" },
        fact("Fingerprint", h("code", { class: "fingerprint wrap" }, version.fingerprint)),
        fact("Created", when(version.created_at)),
        fact("Updated", when(version.updated_at)),
        fact("Builds", String(version.build_count ?? (version.builds || []).length)),
        fact("On channels", holding.length ? holding.join(", ") : "none"))),
    section("Parents", table("Parents", columnsParents, parentRows,
      { empty: "No parents: this version was not built from another image in the registry.", captionHidden: true }),
      untrackedNote(lineage.untracked || [])),
    section("Children", table("Children", columnsChildren, childRows,
      { empty: "No version in the registry was built from this one.", captionHidden: true })),
    section("Builds and artifacts", buildsBlock(version.builds || [])),
    actionsBlock(ctx, bucketName, version, channels.items || []));
}

// Sources the registry does not hold (a public image, say): information, not a warning.
function untrackedNote(untracked) {
  if (!untracked.length) return null;
  return h("div", { id: "untracked-sources" }, callout("info", "i", "No parent in the registry",
    h("ul", {}, untracked.map((u) => h("li", {}, `${u.message[0].toUpperCase()}${u.message.slice(1)}.`))),
    h("p", { class: "small" }, "Built from an image the registry does not track, so there is no parent to follow. "
      + "If that image is one of yours, record its Packer run: the sweep links it.")));
}

// A version started through the HCP API whose builds have not all completed: what it is, in words.
function draftPanel(version) {
  if (!isDraft(version)) return null;
  return callout("warn", "◷", "A draft: its builds have not all completed",
    h("p", {}, "Packer started this version through the HCP API. It is never served and takes no channel; the build done last completes it as the next version. A build that failed or was cancelled (or a runner that stopped) leaves it like this until a new packer build with the same fingerprint finishes it, or a contributor deletes it."));
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
