import { api, safeNext } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

// What this server offers: single sign-on, passwords, or both; and why an SSO sign-in failed.
(async () => {
  const reason = new URLSearchParams(location.search).get("sso_error");
  if (reason) {
    document.getElementById("sso-error").textContent = `Single sign-on failed: ${reason}`;
    document.getElementById("sso-error").hidden = false;
  }
  const methods = (await api("GET", "/api/auth-methods")).data ?? { password: true };
  if (methods.single_sign_on) {
    document.getElementById("sso").hidden = false;
    document.getElementById("login-title").textContent = "Or with a password";
  }
  if (methods.password === false) form.hidden = true;
})().catch(() => {});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const username = document.getElementById("username").value.trim();
  const password = document.getElementById("password").value;
  if (!username || !password) {
    show("Enter your username and password.");
    return;
  }
  const button = document.getElementById("login-submit");
  button.disabled = true;
  try {
    const result = await api("POST", "/api/login", { username, password });
    if (result.ok) {
      location.assign(safeNext(new URLSearchParams(location.search).get("next")));
      return;
    }
    if (result.status === 429) {
      show("Too many failed attempts. Please wait a few minutes and try again.");
    } else if (result.status === 401) {
      show("Wrong username or password.");
    } else {
      show(result.data?.error?.message ?? "Sign-in failed.");
    }
  } catch {
    show("Cannot reach the server. Check your connection and try again.");
  } finally {
    button.disabled = false;
  }
});

function show(message) {
  error.textContent = message;
  error.hidden = false;
}
