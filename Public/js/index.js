import { api, me, signOut } from "./api.js";
import { itemWord, number, plural } from "./dom.js";

document.getElementById("sign-out").addEventListener("click", () => signOut());

async function load() {
  const user = await me();
  document.getElementById("who").textContent = `${user.username} (${user.role})`;
  if (user.role === "admin") document.getElementById("admin-link").hidden = false;
  const result = await api("GET", "/api/projects");
  const list = document.getElementById("projects");
  const projects = result.data?.projects ?? [];
  document.getElementById("empty").hidden = projects.length > 0;
  for (const project of projects) {
    const item = document.createElement("li");
    item.className = "card project";
    const title = document.createElement("h2");
    title.textContent = project.name;
    item.append(title);
    const progress = document.createElement("p");
    progress.className = "muted progress";
    item.append(progress);
    if (user.role === "annotator" || user.role === "admin") {
      const link = document.createElement("a");
      link.className = "button primary";
      item.append(link);
      if (project.arena) {
        link.href = `/projects/${project.id}/arena`;
        link.textContent = "Battle";
        api("GET", `/api/projects/${project.id}/arena`).then((answer) => {
          if (answer.ok) progress.textContent = `Arena · ${answer.data.prompts_left} of ${answer.data.prompts_per_hour} prompts left this hour`;
        });
      } else {
        link.href = `/projects/${project.id}/annotate`;
        link.textContent = "Annotate";
        api("GET", `/api/projects/${project.id}/progress`).then((answer) => {
          const p = answer.data?.progress;
          if (!p) return;
          const held = p.in_progress ? ` · ${p.in_progress} in progress` : "";
          progress.textContent = `Done today: ${p.done_today} · done in all: ${p.done_total} · left for you: ${p.left}${held}`;
          if (p.in_progress) link.textContent = "Continue";
        });
      }
    } else {
      progress.textContent = `${number(project.pairs)} ${itemWord(project.kind, project.pairs)} · ${plural(project.annotations, "judgement")}`;
    }
    if (user.role === "admin") {
      const manage = document.createElement("a");
      manage.className = "button";
      manage.href = `/admin/projects/${project.id}`;
      manage.textContent = "Manage";
      item.append(manage);
    }
    if (user.role === "reviewer" || user.role === "admin") {
      const review = document.createElement("a");
      review.className = "button";
      review.href = `/projects/${project.id}/review`;
      review.textContent = "Review";
      item.append(review);
    }
    list.append(item);
  }
  document.body.dataset.ready = "true";
}

load().catch(() => {});
