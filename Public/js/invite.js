import { api } from "./api.js";

const token = decodeURIComponent(location.pathname.split("/").pop() ?? "");
const error = document.getElementById("invite-error");

// A used, revoked or expired link says so at once, instead of the form.
async function check() {
  const result = await api("POST", "/api/invites/check", { token });
  if (result.ok && result.data.usable === false) {
    document.getElementById("invite-form").hidden = true;
    document.getElementById("invite-gone").hidden = false;
  }
  document.body.dataset.ready = "true";
}
check();

document.getElementById("invite-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const username = document.getElementById("username").value.trim();
  const password = document.getElementById("password").value;
  const result = await api("POST", "/api/invites/accept", { token, username, password });
  if (result.ok) {
    location.assign("/");
    return;
  }
  error.textContent = result.data?.error?.message ?? "Could not create the account.";
  error.hidden = false;
});
