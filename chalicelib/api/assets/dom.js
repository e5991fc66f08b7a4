// Building the page: the `h()` element helper and the blocks the views share (tables that
// turn into cards on a narrow screen, sections, callouts, facts).
// Everything the API returns is untrusted: the DOM is built with textContent only.

export function h(tag, attrs, ...children) {
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

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function clear(node) {
  node.replaceChildren();
  return node;
}

// A table that becomes a list of cards on a narrow screen (cells carry their column name).
export function table(caption, columns, rows, { empty = "Nothing here yet.", captionHidden = false } = {}) {
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
export function liveTable(caption, columns, tbody, { empty = "Nothing here yet.", id } = {}) {
  if (!tbody.children.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", { class: "stack", id },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))), tbody));
}

export function row(columns, cells, attrs = {}) {
  return h("tr", attrs, cells.map((cell, i) => td(columns[i], cell)));
}

// A cell: its content in one box, so a narrow screen can put the column name beside it.
export function td(label, ...content) {
  return h("td", { "data-label": label }, h("div", { class: "cell" }, content));
}

export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), children);
}

export function labelList(labels) {
  const entries = Object.entries(labels || {});
  if (!entries.length) return h("span", { class: "quiet" }, "none");
  return h("ul", { class: "labels" }, entries.map(([k, v]) => h("li", {}, h("span", { class: "label-key" }, k), h("span", { class: "label-value" }, v))));
}

export function breadcrumbs(...parts) {
  return h("nav", { "aria-label": "Breadcrumb", class: "breadcrumbs" },
    h("ol", {}, parts.map(([text, href], i) => h("li", {},
      href && i < parts.length - 1 ? h("a", { href }, text) : h("span", { "aria-current": "page" }, text)))));
}

export function heading(text, ...extra) {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1", id: "view-title" }, text), extra);
}

export function callout(tone, icon, title, ...body) {
  return h("div", { class: `callout ${tone}` },
    h("span", { class: "callout-icon", "aria-hidden": "true" }, icon),
    h("div", {}, title ? h("p", { class: "callout-title" }, title) : null, body));
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

export function fact(term, value) {
  return h("div", { class: "fact" }, h("dt", {}, term), h("dd", {}, value));
}

// The line where a form says what went wrong (filled in by submitAction).
export function formError() {
  return h("p", { class: "form-error", role: "alert" });
}
