// The review page's model leaderboard: shown when the project's pairs name their
// models; a Bradley–Terry fit with intervals (see docs/LEADERBOARD.md).

import { api } from "./api.js";

const $ = (id) => document.getElementById(id);

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
}

// The models behind the responses, ranked (shown when pairs name their models).
export async function loadLeaderboard(projectID) {
  const result = await api("GET", `/api/projects/${projectID}/leaderboard?bootstrap=200`);
  if (!result.ok || result.data.models.length === 0) return;
  const board = result.data;
  const body = $("leaderboard-table").querySelector("tbody");
  body.replaceChildren();
  board.models.forEach((entry, index) => {
    const row = document.createElement("tr");
    cell(row, String(index + 1));
    cell(row, entry.model);
    cell(row, entry.score == null ? "—" : String(Math.round(entry.score)));
    cell(row, entry.ci95 ? `${Math.round(entry.ci95[0])} – ${Math.round(entry.ci95[1])}` : "—");
    cell(row, String(entry.votes));
    cell(row, `${entry.wins} · ${entry.losses} · ${entry.ties}`);
    body.append(row);
  });
  $("leaderboard-note").textContent = (board.message ? `${board.message}. ` : "")
    + `Bradley–Terry over ${board.battles} battles (400·log10 odds, mean 1000; intervals from ${board.bootstrap} bootstrap resamples). `
    + `Left out: ${board.excluded.votes} votes of ${board.excluded.quarantined_raters} quarantined rater(s).`;
  $("leaderboard").hidden = false;
}
