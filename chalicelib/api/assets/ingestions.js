// Ingestion records: every manifest object the registry received, with a reason per problem.

import { api } from "./api.js";
import { moreButton } from "./controls.js";
import { h, heading, liveTable, row } from "./dom.js";
import { INGESTION_STATUS, badge, when } from "./format.js";
import { hashFor, versionLink } from "./links.js";

export async function renderIngestions(ctx, status) {
  const filter = ["all", "accepted", "partial", "rejected", "duplicate"].includes(status) ? status : "rejected";
  const page = await api("GET", "/ingestions", { params: { limit: 50, status: filter === "all" ? null : filter } });
  const select = h("select", { id: "ingestion-status" },
    [["rejected", "Rejected"], ["partial", "Partly accepted"], ["accepted", "Accepted"], ["duplicate", "Duplicate"],
      ["all", "All"]]
      .map(([value, text]) => h("option", { value, selected: value === filter }, text)));
  select.addEventListener("change", () => {
    location.hash = hashFor({ view: "ingestions", status: select.value });
  });
  const columns = ["Received", "Object", "Status", "Reasons", "Versions"];
  const body = h("tbody");
  const add = (items) => items.forEach((i) => body.append(row(columns, [
    when(i.received_at),
    h("code", { class: "wrap" }, `s3://${i.s3_bucket}/${i.key}`),
    badge(INGESTION_STATUS[i.status] || [i.status, "muted", "?"]),
    (i.reasons || []).length ? h("ul", { class: "plain" }, i.reasons.map((r) => h("li", {}, r))) : h("span", { class: "quiet" }, "—"),
    (i.versions || []).length ? h("ul", { class: "plain" }, i.versions.map((v) => h("li", {},
      versionLink(v.bucket, v.version), v.created ? " (new)" : "",
      v.duplicate ? ` ${v.duplicate}` : ` ${v.builds_added} build(s) added`)))
      : h("span", { class: "quiet" }, "none"),
  ])));
  add(page.items || []);
  const more = moreButton("Load more", page.next_token,
    (token) => api("GET", "/ingestions", { params: { limit: 50, next_token: token, status: filter === "all" ? null : filter } }),
    (nextPage) => add(nextPage.items || []));
  ctx.show("Ingestions",
    heading("Ingestions", h("p", { class: "lead" }, "Every manifest object the registry received, with the reason for each problem.")),
    h("div", { class: "card" },
      h("div", { class: "toolbar" }, h("div", { class: "field" }, h("label", { for: "ingestion-status" }, "Show"), select)),
      liveTable("Ingestion records", columns, body,
        { empty: filter === "rejected" ? "No manifest has been rejected." : "No ingestion records.", id: "ingestions-table" }),
      more));
}
