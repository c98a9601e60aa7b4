import { api } from "./api.js";

const token = decodeURIComponent(location.pathname.split("/").pop() ?? "");
const error = document.getElementById("reset-error");

function fail(message) {
  error.textContent = message;
  error.hidden = false;
}

document.getElementById("reset-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const password = document.getElementById("password").value;
  if (password !== document.getElementById("password-again").value) return fail("The two passwords differ.");
  const result = await api("POST", "/api/password-resets/accept", { token, password });
  if (result.ok) {
    location.assign("/");
    return;
  }
  fail(result.data?.error?.message ?? "Could not set the password.");
});
