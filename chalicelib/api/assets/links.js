// Links to the page's views: the URL fragment names the view (see app.js), so every view can be linked to.

import { h } from "./dom.js";

// The fragment's parameters (`#bucket=base&version=v1`).
export const fragmentParams = () => new URLSearchParams(location.hash.replace(/^#/, ""));

export function hashFor(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `#${text}` : "#";
}

export const bucketHref = (bucket) => hashFor({ bucket });
export const versionHref = (bucket, version) => hashFor({ bucket, version });
// A draft (still being published through the HCP API, number 0) is named by its fingerprint: `v0` names none.
export const isDraft = (version) => !version.number;
export const versionRef = (version) => (isDraft(version) ? version.fingerprint : version.name);

export function versionLink(bucket, version, text) {
  return h("a", { href: versionHref(bucket, version), class: "version-link" }, text || `${bucket} ${version}`);
}
