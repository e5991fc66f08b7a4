// Words for what the API returns: statuses (with their badges), ancestry sentences, times,
// fingerprints, sizes.

import { h } from "./dom.js";

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
export const INGESTION_STATUS = {
  accepted: ["Accepted", "ok", "✓"], partial: ["Partly accepted", "warn", "!"], rejected: ["Rejected", "bad", "✕"],
  duplicate: ["Duplicate", "muted", "="],
};

export function badge([label, tone, icon], extra) {
  return h("span", { class: `badge ${tone}`, title: extra || undefined },
    h("span", { class: "badge-icon", "aria-hidden": "true" }, icon), label);
}

export function versionBadge(status) {
  return badge(VERSION_STATUS[status] || [status || "unknown", "muted", "?"]);
}

export function ancestryBadge(status) {
  if (!status) return h("span", { class: "quiet" }, "No parent");
  return badge(ANCESTRY_STATUS[status] || [status, "muted", "?"]);
}

// A status's word ("out_of_date" → "Outdated"); `fallback` for a status the page does not know.
export function ancestryWord(status, fallback = status) {
  return (ANCESTRY_STATUS[status] || [fallback])[0];
}

// "Outdated: parent base channel production now points at v2; this was built from v1."
export function ancestrySentence(status, message) {
  const label = ancestryWord(status, status || "Note");
  if (!message) return `${label}.`;
  return `${label}: ${message}${/[.!?]$/.test(message) ? "" : "."}`;
}

// One finding as the API gives it: its own status word and sentence, then how its link was
// found ("Undetermined: parent not found: … (named in the manifest: parent_bucket, parent_version)").
export function findingLine(finding) {
  return h("span", { class: "finding" }, ancestrySentence(finding.status, finding.message),
    finding.how ? h("span", { class: "quiet small" }, ` (${finding.how})`) : null);
}

// Findings in a line of text, one after the other.
export function findingsInline(findings) {
  return findings.flatMap((f, i) => (i ? [" ", findingLine(f)] : [findingLine(f)]));
}

// The findings of a version, a flagged item or a sweep's change, one per line.
export function findingList(findings) {
  return h("ul", { class: "plain findings" }, (findings || []).map((f) => h("li", {}, findingLine(f))));
}

// "revoked (inherited from base/v1): CVE-2026-1234 in openssl"
export function revocationWords(revocation) {
  const r = revocation || {};
  const origin = r.revocation_type === "inherited" && r.inherited_from ? ` (inherited from ${r.inherited_from})` : "";
  return `revoked${origin}${r.reason ? `: ${r.reason}` : ""}`;
}

// Channels in the order they are listed: by name, the managed `latest` last.
export const byChannelName = (a, b) => (a.name === "latest") - (b.name === "latest") || a.name.localeCompare(b.name);

export const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function when(iso) {
  if (!iso) return h("span", { class: "quiet" }, "—");
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h("time", { datetime: iso, title: iso }, dateFormat.format(date));
}

// 93784 → "1 d 2 h"; 3690 → "1 h 1 min"; 3630 → "1 h"; 45 → "45 s": the largest unit and the next, if not 0.
export function ageWords(seconds) {
  let left = Math.max(0, Math.floor(seconds || 0));
  const parts = [];
  for (const [size, unit] of [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]]) {
    const count = Math.floor(left / size);
    left -= count * size;
    if (count && parts.length < 2) parts.push(`${count} ${unit}`);
    else if (parts.length) break;
  }
  return parts.join(" ") || "0 s";
}

export function fingerprint(value) {
  if (!value) return h("span", { class: "quiet" }, "—");
  const short = value.length > 14 ? `${value.slice(0, 12)}…` : value;
  return h("code", { class: "fingerprint", title: value }, short);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

// 5471993856 → "5.1 GiB"; 1050037760 → "1.0 GiB"; 689 → "689 B" (binary units).
export function humanBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) { // 1001 MiB reads better as 1.0 GiB
    value /= 1024;
    unit += 1;
  }
  return unit ? `${value.toFixed(value < 10 ? 1 : 0)} ${BYTE_UNITS[unit]}` : `${value} B`;
}

export function sizeOf(bytes) {
  if (typeof bytes !== "number") return h("span", { class: "quiet small" }, "size unknown");
  return h("span", { class: "size", title: `${bytes.toLocaleString("en")} bytes` }, humanBytes(bytes));
}
