// Signing in and out, and who the token is.

import { api, forgetToken, keepToken } from "./api.js";
import { $, clear } from "./dom.js";
import { fragmentParams } from "./links.js";
import { clearMessages } from "./messages.js";

// Who is signed in (null: not asked yet), and the count of views loaded: a view still loading
// when another starts, or when the person signs out, is dropped (see app.js).
// `buckets`: the token's bucket bindings (bucket: role), which raise its role on those buckets.
export const state = { role: null, who: null, buckets: {}, generation: 0 };

// A `#token=…` link signs in: the token is kept for the tab and taken out of the address bar.
export function takeTokenFromHash() {
  const params = fragmentParams();
  if (!params.has("token")) return;
  const token = (params.get("token") || "").trim();
  params.delete("token");
  if (token) {
    keepToken(token);
    state.role = state.who = null;
  }
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
}

// Back to the sign-in form, saying why (`message`).
export function signedOut(message, { focus = true } = {}) {
  forgetToken();
  state.role = state.who = null;
  state.generation++;
  clearMessages();
  clear($("#view"));
  $("#main-nav").hidden = true;
  $("#session").hidden = true;
  $("#signin").hidden = false;
  $("#signin-error").textContent = message || "";
  document.title = "Sign in · Packer registry";
  const input = $("#token-input");
  input.value = "";
  if (focus) input.focus();
}

// The sign-in form: the token is tried (GET /buckets) before it is kept; then `then()` shows the view.
export async function signIn(event, then) {
  event.preventDefault();
  const input = $("#token-input");
  const token = input.value.trim();
  const error = $("#signin-error");
  if (!token) {
    error.textContent = "Paste a token first.";
    input.focus();
    return;
  }
  keepToken(token);
  error.textContent = "";
  try {
    await api("GET", "/buckets", { params: { limit: 1 }, quiet401: true });
  } catch (failure) {
    forgetToken();
    error.textContent = failure.status === 401 ? `That token was not accepted: ${failure.message}` : failure.sentence;
    input.focus();
    return;
  }
  input.value = "";
  state.role = state.who = null;
  then();
}

// Who the token is, when the API says (GET /whoami); unknown otherwise, and the actions stay
// visible: the API's 403 then says what role is needed.
export async function identify() {
  if (state.who !== null) return;
  state.who = "";
  try {
    const me = await api("GET", "/whoami", { quiet401: true });
    state.who = me.name || "";
    state.role = me.role || null;
    state.buckets = me.buckets || {};
  } catch {
    state.role = null;
    state.buckets = {};
  }
  const who = $("#who");
  who.textContent = state.who ? `Signed in as ${state.who}${state.role ? ` (${state.role})` : ""}` : "Signed in";
}

// Whether to offer the contributors' actions on a bucket: the project role or the token's
// binding to the bucket (also when the role is unknown: the API decides).
const contributes = (role) => role === "contributor" || role === "admin";
export const canChange = (bucket) => state.role === null || contributes(state.role) || contributes(state.buckets[bucket]);
