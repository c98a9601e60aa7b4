// The project page's "Export" card: a background export job (and reward model)
// with its progress, then the latest result's downloads and metrics. The format
// menu comes from the server (GET /api/export-formats), so a new format needs no
// change here. Untrusted text only via textContent.
import { api, errorMessage } from "./api.js";
import { element, number } from "./dom.js";

/** Wires the export form of project `projectID`; `status` shows errors. */
export function setUpExports(projectID, status) {
  const $ = (id) => document.getElementById(id);
  const base = `/api/projects/${projectID}`;

  const pairwiseFormats = new Set();

  // Only the formats that can export this project: HelpSteer needs ratings,
  // rewrite SFT needs a project that asks for rewrites.
  async function loadExportFormats() {
    const [result, project] = await Promise.all([api("GET", "/api/export-formats"), api("GET", base)]);
    if (!result.ok) return status(errorMessage(result));
    const settings = project.data?.project?.settings ?? project.data?.project ?? {};
    const kind = settings.kind ?? "pairwise";
    const select = $("export-format");
    select.replaceChildren();
    for (const format of result.data.formats) {
      if (format.kinds && !format.kinds.includes(kind)) continue;
      if (format.needs_rewrites && settings.rewrite === false) continue;
      const option = element("option", format.label);
      option.value = format.name;
      select.append(option);
      if (format.pairwise) pairwiseFormats.add(format.name);
    }
    syncExportForm();
  }

  function syncExportForm() {
    const pairwise = pairwiseFormats.has($("export-format").value);
    $("export-train").disabled = !pairwise;
    if (!pairwise) $("export-train").checked = false;
  }
  $("export-format").addEventListener("change", syncExportForm);

  function showResult(result) {
    const box = $("export-result");
    box.replaceChildren();
    if (!result) return;
    const counts = result.counts ?? {};
    const pairs = counts.pairs_exported ?? counts.annotations ?? 0;
    box.append(element("p", `Latest export (${result.format}, ${result.created_at}): ${number(pairs)} ${counts.pairs_exported === undefined ? "annotations" : "pairs"}.`));
    const list = element("ul", undefined, "downloads");
    list.id = "downloads";
    for (const name of result.files ?? []) {
      const item = element("li");
      const link = element("a", name);
      link.href = `${base}/exports/latest/files/${encodeURIComponent(name)}`;
      link.setAttribute("download", `project-${projectID}-${name}`);
      item.append(link);
      list.append(item);
    }
    box.append(list);
    const metrics = result.metrics;
    if (metrics) {
      const table = element("table", undefined, "data metrics");
      table.id = "metrics";
      const rows = [
        ["Held-out accuracy", `${(metrics.held_out_accuracy * 100).toFixed(1)}% on ${number(metrics.held_out_pairs)} pairs`],
        ["Longer response wins", `${(metrics.longer_wins * 100).toFixed(1)}%`],
        ["Shorter response wins", `${(metrics.shorter_wins * 100).toFixed(1)}%`],
        ["Log loss", metrics.log_loss.toFixed(3)],
        ["Calibration error (ECE)", metrics.expected_calibration_error.toFixed(3)],
        ["Reward–length correlation", metrics.reward_length_correlation.toFixed(2)],
      ];
      for (const [label, value] of rows) {
        const row = element("tr");
        row.append(element("th", label), element("td", value));
        table.append(row);
      }
      box.append(table);
      if (metrics.warning) {
        const warning = element("p", metrics.warning, "status error");
        warning.id = "length-warning";
        box.append(warning);
      }
    }
  }

  async function pollExport() {
    for (;;) {
      const answer = await api("GET", `${base}/exports/latest`);
      if (!answer.ok) return status(errorMessage(answer));
      const job = answer.data.job;
      const bar = $("export-progress");
      if (job && job.state === "running") {
        $("export-progress-box").hidden = false;
        if (job.epoch > 0 && job.epochs > 0) {
          bar.max = job.epochs;
          bar.value = job.epoch;
          $("export-phase").textContent = `Training: epoch ${job.epoch} of at most ${job.epochs}, loss ${job.loss.toFixed(4)}`
            + (job.validation_loss == null ? "" : `, validation loss ${job.validation_loss.toFixed(4)}`);
        } else {
          bar.removeAttribute("value");
          $("export-phase").textContent = "Exporting…";
        }
        await new Promise((resolve) => setTimeout(resolve, 400));
        continue;
      }
      $("export-progress-box").hidden = true;
      $("export-start").disabled = false;
      if (job && job.state === "failed") status(`Export failed: ${job.error}`);
      showResult(answer.data.result);
      return;
    }
  }

  $("export-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      format: $("export-format").value,
      aggregate: $("export-aggregate").value,
      min_agreement: Number($("export-min-agreement").value),
      include_flagged: $("export-flagged").checked,
      margin: $("export-margin").checked,
      reward_model: $("export-train").checked,
      seed: Number($("export-seed").value),
    };
    const test = Number($("export-test").value);
    if (test > 0) body.test_fraction = test;
    if (body.reward_model) {
      body.epochs = Number($("export-epochs").value);
      body.hidden = Number($("export-hidden").value);
    }
    $("export-start").disabled = true;
    const answer = await api("POST", `${base}/exports`, body);
    if (!answer.ok) {
      $("export-start").disabled = false;
      return status(errorMessage(answer));
    }
    status("");
    await pollExport();
  });

  return { loadFormats: loadExportFormats, poll: pollExport };
}
