// Requests to this registry's API: the bearer token, errors in words, lists page by page.
// Nothing here touches the page; what a refused token does to it is set by app.js
// (`onUnauthorized`).

const TOKEN_KEY = "packer-registry.token";
const API_BASE = new URL(".", location.href.split("#")[0]); // the page's own directory (…/api/ on API Gateway)
export const PAGE_SIZE = 100;

export const enc = encodeURIComponent;

// The token lives only in this tab's session storage.
export const storedToken = () => sessionStorage.getItem(TOKEN_KEY);
export const keepToken = (token) => sessionStorage.setItem(TOKEN_KEY, token);
export const forgetToken = () => sessionStorage.removeItem(TOKEN_KEY);

let unauthorized = () => {};

// What to do when the API refuses the token (a 401 not asked to be quiet): sign out, in words.
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export class ApiError extends Error {
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

export async function api(method, path, { params, body, quiet401 = false } = {}) {
  const token = storedToken();
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
    if (response.status === 401 && !quiet401) unauthorized(`Your token was not accepted (${message}). Sign in again.`);
    throw error;
  }
  return data;
}

// Every page of a list (bounded: `maxPages` pages of PAGE_SIZE); `key` names the list.
export async function allPages(path, params = {}, maxPages = 5, key = "items") {
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
export async function pool(items, limit, task) {
  let index = 0;
  const worker = async () => {
    while (index < items.length) {
      const item = items[index++];
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
