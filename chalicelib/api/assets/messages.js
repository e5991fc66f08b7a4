// The page's two message regions: #alert (a failure, in words) and #notice (what an action did).

import { ApiError } from "./api.js";
import { $, clear, h } from "./dom.js";

export function showError(error) {
  if (error instanceof ApiError && error.status === 401) return; // the sign-in form says it
  const text = error instanceof ApiError ? error.sentence : `Something went wrong in the page: ${error.message}`;
  const region = $("#alert");
  clear(region).append(h("div", { class: "callout bad" },
    h("span", { class: "callout-icon", "aria-hidden": "true" }, "✕"),
    h("div", {}, h("p", {}, text)),
    h("button", { type: "button", class: "button secondary small", onclick: () => clear(region) }, "Dismiss")));
  if (!(error instanceof ApiError)) console.error(error);
}

export function showNotice(text) {
  const region = $("#notice");
  clear(region).append(h("div", { class: "callout ok" },
    h("span", { class: "callout-icon", "aria-hidden": "true" }, "✓"), h("p", {}, text)));
}

export function clearMessages() {
  clear($("#alert"));
  clear($("#notice"));
}
