// Controls that load or change something and report how it went: "Load more" buttons,
// disclosures fetched when opened, and the contributors' action forms.

import { ApiError } from "./api.js";
import { append, clear, h, loading } from "./dom.js";
import { showError, showNotice } from "./messages.js";

// A "Load more" button: `load(token)` fetches the next page, `add(page)` shows it; hidden
// once the API returns no next_token. `hasMore()` tells whether more remain.
export function moreButton(label, firstToken, load, add) {
  let next = firstToken;
  const button = h("button", { type: "button", class: "button secondary", hidden: !next }, label);
  button.hasMore = () => Boolean(next);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const page = await load(next);
      next = page.next_token;
      add(page);
      button.hidden = !next;
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

// A <details> whose content is fetched the first time it is opened (again after a failure).
export function lazyDisclosure(attrs, summary, load) {
  const body = h("div", { class: "history" });
  const details = h("details", attrs, h("summary", {}, ...summary), body);
  let loaded = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || loaded) return;
    loaded = true;
    body.append(loading());
    try {
      append(clear(body), await load());
    } catch (error) {
      loaded = false;
      clear(body).append(h("p", { class: "form-error" }, error.sentence || error.message));
    }
  });
  return details;
}

// An action form's submit: runs `action` (which returns the sentence saying what it did), then
// reloads the view (`ctx.reload`) and says it; a refusal is shown in the form, in words.
export async function submitAction(ctx, event, form, action) {
  event.preventDefault();
  const button = form.querySelector("button[type=submit]");
  const error = form.querySelector(".form-error");
  error.textContent = "";
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const message = await action();
    await ctx.reload();
    showNotice(message);
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) return;
    error.textContent = failure instanceof ApiError ? failure.sentence : failure.message;
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
