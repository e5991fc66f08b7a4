// The contributors' actions on a version, as forms: assign to a channel, revoke, restore; a
// draft's only action is its deletion. The API decides who may; its refusal is shown in the
// form, in words.

import { api, enc } from "./api.js";
import { submitAction } from "./controls.js";
import { formError, h, section } from "./dom.js";
import { dateFormat } from "./format.js";
import { bucketHref, isDraft } from "./links.js";
import { canChange } from "./session.js";

// What a contributor can do with a version: assign it to a channel, revoke it (now or later),
// restore it; delete a draft. For a viewer, a sentence saying what is needed.
export function actionsBlock(ctx, bucket, version, channels) {
  const name = version.name;
  if (!canChange(bucket)) {
    return section("Actions", h("p", { class: "quiet" },
      "Your token is a viewer of this bucket: assigning channels, revoking, restoring and deleting drafts need the contributor role on it."));
  }
  const assignable = channels.filter((c) => !c.managed && c.name !== "latest");
  const blocks = [];
  blocks.push(h("p", { class: "quiet small" },
    "These change the registry and need a contributor token; the registry explains any refusal here."));
  if (isDraft(version)) return section("Actions", h("div", { class: "actions" }, blocks, deleteDraftForm(ctx, bucket, version)));

  // Assign to a channel (an existing one, or a new one).
  const channelInput = h("input", { id: "assign-channel", name: "channel", list: "channel-options", required: true,
    autocomplete: "off", spellcheck: "false", pattern: "[a-z0-9][a-z0-9-]{0,63}", "aria-describedby": "assign-help" });
  const assignForm = h("form", { class: "action", id: "assign-form", novalidate: true },
    h("h3", {}, "Assign to a channel"),
    h("div", { class: "field" },
      h("label", { for: "assign-channel" }, "Channel"),
      channelInput,
      h("datalist", { id: "channel-options" }, assignable.map((c) => h("option", { value: c.name }, c.version ? `now ${c.version}` : "unassigned"))),
      h("p", { class: "help", id: "assign-help" },
        assignable.length ? `Existing: ${assignable.map((c) => `${c.name} (${c.version || "unassigned"})`).join(", ")}. A new name creates the channel.`
          : "No channels yet: a name creates one (lower-case letters, digits and dashes).")),
    formError(),
    h("button", { type: "submit", class: "button primary" }, `Assign ${name}`));
  assignForm.addEventListener("submit", (event) => submitAction(ctx, event, assignForm, async () => {
    const channel = channelInput.value.trim();
    if (!channel) throw new Error("Name a channel.");
    if (channels.some((c) => c.name === channel)) {
      await api("PATCH", `/buckets/${enc(bucket)}/channels/${enc(channel)}`, { body: { version: name } });
    } else {
      await api("POST", `/buckets/${enc(bucket)}/channels`, { body: { name: channel, version: name } });
    }
    return `${bucket} channel ${channel} now points at ${name}.`;
  }));
  if (version.status !== "revoked") blocks.push(assignForm);

  // Revoke (now or later, with or without descendants).
  if (version.status !== "revoked") {
    const reason = h("input", { id: "revoke-reason", name: "reason", required: true, maxlength: 500, autocomplete: "off" });
    const at = h("input", { id: "revoke-at", name: "revoke_at", type: "datetime-local", "aria-describedby": "revoke-at-help" });
    const descendants = h("input", { id: "revoke-descendants", name: "descendants", type: "checkbox", checked: true });
    const keep = h("input", { id: "revoke-keep", name: "keep", type: "checkbox" });
    const revokeForm = h("form", { class: "action danger-zone", id: "revoke-form", novalidate: true },
      h("h3", {}, version.status === "revocation_scheduled" ? "Revoke now or reschedule" : "Revoke"),
      h("div", { class: "field" }, h("label", { for: "revoke-reason" }, "Reason (required)"), reason),
      h("div", { class: "field" }, h("label", { for: "revoke-at" }, "Revoke at (optional)"), at,
        h("p", { class: "help", id: "revoke-at-help" }, "Your local time. Empty revokes now; a future time schedules it for the sweep.")),
      h("div", { class: "check" }, descendants, h("label", { for: "revoke-descendants" }, "Also revoke every version built from it")),
      h("div", { class: "check" }, keep, h("label", { for: "revoke-keep" }, "Keep it on its channels (no rollback; consumers get an error)")),
      formError(),
      h("button", { type: "submit", class: "button danger" }, `Revoke ${name}`));
    revokeForm.addEventListener("submit", (event) => submitAction(ctx, event, revokeForm, async () => {
      if (!reason.value.trim()) {
        reason.focus();
        throw new Error("Give a reason: consumers and auditors see it.");
      }
      const body = { reason: reason.value.trim() };
      if (at.value) {
        const date = new Date(at.value);
        if (Number.isNaN(date.getTime())) throw new Error("The revocation time is not a valid date.");
        body.revoke_at = date.toISOString();
      }
      if (!descendants.checked) body.skip_descendants_revocation = true;
      if (keep.checked) body.disable_rollback_channels = true;
      const result = await api("POST", `/buckets/${enc(bucket)}/versions/${enc(name)}/revoke`, { body });
      return result && result.status === "revocation_scheduled"
        ? `${bucket} ${name} will be revoked at ${dateFormat.format(new Date(result.revocation.revoke_at))}.`
        : `${bucket} ${name} is revoked${descendants.checked ? ", with its descendants" : ""}.`;
    }));
    blocks.push(revokeForm);
  }

  // Restore (undo a revocation, or cancel a scheduled one).
  if (version.status !== "active") {
    const scheduled = version.status === "revocation_scheduled";
    const restoreForm = h("form", { class: "action", id: "restore-form", novalidate: true },
      h("h3", {}, scheduled ? "Cancel the scheduled revocation" : "Restore"),
      h("p", { class: "help" }, scheduled ? "The version stays active."
        : "Makes it active again, with the descendants that inherited its revocation. Channels are not moved back, and a revoked version cannot be assigned to one until it is restored."),
      formError(),
      h("button", { type: "submit", class: "button secondary" }, scheduled ? "Cancel revocation" : `Restore ${name}`));
    restoreForm.addEventListener("submit", (event) => submitAction(ctx, event, restoreForm, async () => {
      await api("POST", `/buckets/${enc(bucket)}/versions/${enc(name)}/restore`, { body: {} });
      return scheduled ? `The revocation of ${bucket} ${name} is cancelled.` : `${bucket} ${name} is restored.`;
    }));
    blocks.push(restoreForm);
  }
  return section("Actions", h("div", { class: "actions" }, blocks));
}

// Delete a draft with its builds and SBOMs (never done automatically). If its last build is
// done first, the version is complete and the registry refuses; the page then shows it.
function deleteDraftForm(ctx, bucket, version) {
  const form = h("form", { class: "action danger-zone", id: "delete-draft-form", novalidate: true },
    h("h3", {}, "Delete this draft"),
    h("p", { class: "help" }, "Deletes it with its builds and their SBOMs. A packer build with the same fingerprint then starts a new version."),
    formError(),
    h("button", { type: "submit", class: "button danger" }, "Delete draft"));
  form.addEventListener("submit", (event) => submitAction(ctx, event, form, async () => {
    await api("DELETE", `/buckets/${enc(bucket)}/versions/${enc(version.fingerprint)}`);
    history.pushState(null, "", bucketHref(bucket)); // its page is gone: the reload shows its bucket
    return `The draft ${version.fingerprint} of ${bucket} is deleted.`;
  }));
  return form;
}
