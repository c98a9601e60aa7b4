// The project page's Studies section: make a study link, see each study's
// participants (platform id, state, judgements, times), reject or approve their
// work, download the list for payment. Untrusted text only via textContent.
import { api, errorMessage } from "./api.js";
import { button, element, number, stackOnPhones, when } from "./dom.js";

const $ = (id) => document.getElementById(id);

/** Wires the section for `projectID`; `status(text, ok)` is the page's message line. */
export async function setUpStudies(projectID, status) {
  $("study-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      name: $("study-name").value.trim(),
      max_participants: Number($("study-places").value),
      judgements_per_participant: Number($("study-count").value),
      time_limit_minutes: Number($("study-minutes").value),
      screener_pairs: Number($("study-screener").value),
      screener_min_correct: Number($("study-screener-min").value),
      return_url: $("study-return").value.trim(),
    };
    if ($("study-code").value.trim()) body.completion_code = $("study-code").value.trim();
    const answer = await api("POST", `/api/projects/${projectID}/studies`, body);
    if (!answer.ok) return status(errorMessage(answer));
    status("Study link made: give it to the platform.", true);
    $("new-study").open = false;
    await load(projectID, status);
  });
  await load(projectID, status);
}

async function load(projectID, status) {
  const answer = await api("GET", `/api/projects/${projectID}/studies`);
  const box = $("studies");
  box.replaceChildren();
  for (const study of answer.data?.studies ?? []) {
    const card = element("div", undefined, "study");
    card.append(element("h3", study.name));
    const link = new URL(study.link, location.origin).href;
    const facts = element("p", undefined, "muted");
    facts.textContent =
      `${number(study.participants)} of ${number(study.max_participants)} participants · ${number(study.judgements_per_participant)} judgements each · ` +
      `${number(study.time_limit_minutes)} min` + (study.screener_pairs ? ` · screener: ${study.screener_min_correct} of ${study.screener_pairs} gold right` : "") +
      ` · completion code ${study.completion_code}` + (study.closed_at ? " · closed" : "");
    const linkInput = document.createElement("input");
    linkInput.type = "text";
    linkInput.readOnly = true;
    linkInput.value = `${link}?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}`;
    linkInput.setAttribute("aria-label", `Study link for ${study.name} (Prolific form)`);
    const download = element("a", "Download participants (CSV)", "button");
    download.href = `/api/studies/${study.id}/participants?format=csv`;
    card.append(facts, linkInput, download);
    if (!study.closed_at) {
      card.append(button("Close to new participants", async () => {
        const closed = await api("POST", `/api/studies/${study.id}/close`);
        if (!closed.ok) return status(errorMessage(closed));
        status("Study closed to new participants.", true);
        await load(projectID, status);
      }));
    }
    card.append(await participants(study, projectID, status));
    box.append(card);
  }
}

async function participants(study, projectID, status) {
  const answer = await api("GET", `/api/studies/${study.id}/participants`);
  const table = element("table", undefined, "data");
  table.id = `study-${study.id}-participants`;
  const head = table.createTHead().insertRow();
  for (const name of ["Platform id", "Platform", "State", "Judgements", "Started", "Finished", "Work", ""]) {
    const th = element("th", name);
    th.scope = "col";
    head.append(th);
  }
  const body = table.createTBody();
  stackOnPhones(table);
  for (const participant of answer.data?.participants ?? []) {
    const row = body.insertRow();
    for (const text of [
      participant.platform_id, participant.platform, participant.state.replace("_", " "), number(participant.judgements),
      when(participant.started_at), when(participant.finished_at), participant.review,
    ]) row.insertCell().textContent = text;
    const actions = row.insertCell();
    actions.className = "actions";
    const decide = (decision) => async () => {
      const comment = decision === "rejected" ? prompt(`Why is ${participant.platform_id}'s work rejected?`, "") : "";
      if (comment === null) return;
      const done = await api("POST", `/api/studies/${study.id}/participants/${participant.id}/review`, { decision, comment });
      if (!done.ok) return status(errorMessage(done));
      status(decision === "rejected" ? "Rejected: the participant is quarantined in this project." : "Approved.", true);
      await load(projectID, status);
    };
    if (participant.review !== "rejected") actions.append(button("Reject", decide("rejected")));
    if (participant.review === "rejected") actions.append(button("Approve", decide("approved")));
  }
  return table;
}
