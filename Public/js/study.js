// A study link (/s/<token>): the participant arrives with their platform id in
// the query (PROLIFIC_PID, workerId, participant) and is sent to the judging
// page; /s/<token>/done shows where they stand — the completion code and the way
// back to the platform when they finished. Text from the server only via textContent.
import { api, errorMessage } from "./api.js";

const $ = (id) => document.getElementById(id);
const [, , token, mode] = location.pathname.split("/");

function say(title, message) {
  $("study-title").textContent = title;
  $("study-message").textContent = message;
}

async function arrive() {
  const query = Object.fromEntries(new URLSearchParams(location.search));
  const answer = await api("POST", "/api/studies/join", { token, query });
  if (!answer.ok) {
    say("This study link cannot be used", errorMessage(answer));
    return;
  }
  if (["completed", "screened_out", "timed_out"].includes(answer.data.participant.state)) {
    location.replace(`/s/${token}/done`);
    return;
  }
  location.replace(answer.data.annotate_url);
}

async function done() {
  const answer = await api("GET", "/api/study");
  if (!answer.ok) {
    say("No study here", errorMessage(answer));
    return;
  }
  const { participant, completion_code: code, return_url: back, study } = answer.data;
  switch (participant.state) {
    case "completed":
      say("Thank you!", `You finished "${study.name}".`);
      $("study-code").textContent = code;
      $("study-code-box").hidden = false;
      if (back) {
        $("study-return-link").href = back;
        $("study-return").hidden = false;
        $("study-message").textContent += " Returning you to the study platform in 5 seconds…";
        setTimeout(() => location.assign(back), 5000);
      }
      break;
    case "screened_out":
      say("Thank you for your time", "Your answers to the first questions did not qualify for this study, so it ends here. You can close this page.");
      break;
    case "timed_out":
      say("Time is up", "The time for this study has run out. You can close this page.");
      break;
    default:
      say("Not finished yet", `You have judged ${participant.judged} of ${study.judgements}.`);
      $("study-continue-link").href = `/projects/${study.project_id}/annotate`;
      $("study-continue").hidden = false;
  }
}

(mode === "done" ? done() : arrive())
  .catch(() => say("Something went wrong", "Reload the page to try again."))
  .finally(() => { document.body.dataset.ready = "true"; });
