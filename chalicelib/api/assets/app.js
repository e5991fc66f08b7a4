// The registry web page: plain modern JavaScript in native ES modules (no build step, no
// dependencies, no network but this API). This module is the entry point: it routes.
//
// Views are chosen by the URL fragment, so every view can be linked to:
//   #                              buckets                                           (bucket-list.js)
//   #bucket=NAME                   one bucket: versions, channels (with history), labels  (bucket.js)
//   #bucket=NAME&version=vN        one version: builds, artifacts, ancestry, revocation, actions
//                                                                          (version.js, actions.js)
//   #view=compliance               the last sweep's report                          (compliance.js)
//   #view=ingestions&status=S      ingestion records (default: rejected)            (ingestions.js)
//   #token=SECRET                  (with any of the above) signs in, then is removed from the address bar
// Everything the API returns is untrusted: the DOM is built with textContent only (dom.js).
//
// A view is `render(ctx, …)`: it loads what it shows, then calls `ctx.show(title, …content)`;
// `ctx.current()` says whether it is still the view to show, `ctx.reload()` loads it again.

import { ApiError, onUnauthorized, storedToken } from "./api.js";
import { renderBucket } from "./bucket.js";
import { renderBuckets } from "./bucket-list.js";
import { renderCompliance } from "./compliance.js";
import { $, append, clear, h, loading } from "./dom.js";
import { renderIngestions } from "./ingestions.js";
import { fragmentParams } from "./links.js";
import { clearMessages, showError } from "./messages.js";
import { identify, signedOut, signIn, state, takeTokenFromHash } from "./session.js";
import { renderVersion } from "./version.js";

// Shows the view the fragment names (the sign-in form when there is no token).
async function route({ focus = true } = {}) {
  takeTokenFromHash();
  if (!storedToken()) {
    signedOut("", { focus });
    return;
  }
  $("#signin").hidden = true;
  $("#main-nav").hidden = false;
  $("#session").hidden = false;
  const params = fragmentParams();
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
  const current = () => generation === state.generation;
  const ctx = {
    current,
    // Replace the view's content once loaded (ignored if the person has moved on meanwhile).
    show(title, ...children) {
      if (!current()) return false;
      document.title = `${title} · Packer registry`;
      append(clear(view), children);
      if (focus) $("#view-title")?.focus({ preventScroll: false });
      return true;
    },
    reload: () => route({ focus: true }),
  };
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

function start() {
  onUnauthorized((message) => signedOut(message));
  $("#signin-form").addEventListener("submit", (event) => signIn(event, () => route()));
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
