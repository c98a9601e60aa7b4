// How a prompt is shown: a plain prompt as Markdown; a conversation with the last
// user turn — what the responses answer — always in view and the earlier turns
// folded into a <details>.

import { renderMarkdown } from "./markdown.js";

export function renderPrompt(prompt, container) {
  container.replaceChildren();
  if (typeof prompt === "string") {
    const text = document.createElement("div");
    text.className = "prompt-text";
    renderMarkdown(prompt, text);
    container.append(text);
    return;
  }
  const lastUser = prompt.map((message) => message.role).lastIndexOf("user");
  const split = lastUser > 0 ? lastUser : 0;
  if (split > 0) {
    const earlier = document.createElement("details");
    earlier.className = "earlier";
    const summary = document.createElement("summary");
    summary.textContent = split === 1 ? "1 earlier message" : `${split} earlier messages`;
    earlier.append(summary, conversation(prompt.slice(0, split)));
    container.append(earlier);
  }
  const last = conversation(prompt.slice(split));
  last.classList.add("last-turn");
  container.append(last);
}

// One bubble per message, labelled with its role.
function conversation(messages) {
  const list = document.createElement("ol");
  list.className = "conversation";
  for (const message of messages) {
    const item = document.createElement("li");
    item.className = `message role-${message.role === "assistant" ? "assistant" : message.role === "system" ? "system" : "user"}`;
    const role = document.createElement("span");
    role.className = "role";
    role.textContent = message.role;
    const body = document.createElement("div");
    renderMarkdown(message.content, body);
    item.append(role, body);
    list.append(item);
  }
  return list;
}
