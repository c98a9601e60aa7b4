// The JSON API from the browser: same-origin cookie, CSRF header on writes, and
// a trip to the sign-in page (and back) when the session has ended.

let csrfToken = null;
let study = null;

/** A study participant's session: `{token, project_id}`, else null (after `me()`). */
export const currentStudy = () => study;

/** Thrown after redirecting to the sign-in page. */
export class SignedOut extends Error {}

/** Sends a request; resolves to { status, ok, data } (data is parsed JSON or null). */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && !["/api/login", "/api/invites/check", "/api/invites/accept", "/api/password-resets/accept", "/api/studies/join"].includes(path)) {
    if (!csrfToken) await me();
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  }
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 401 && path !== "/api/login") {
    goToSignIn();
    throw new SignedOut("signed out");
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  return { status: response.status, ok: response.ok, data };
}

/** The signed-in user (and the CSRF token for later writes). */
export async function me() {
  const response = await fetch("/api/me", { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (response.status === 401) {
    goToSignIn();
    throw new SignedOut("signed out");
  }
  const data = await response.json();
  csrfToken = data.csrf_token ?? null;
  study = data.study ?? null;
  return data.user;
}

/** The CSRF token of this session, for requests made without `api` (uploads with progress). */
export async function csrf() {
  if (!csrfToken) await me();
  return csrfToken;
}

/** The error message of an API answer. */
export function errorMessage(result) {
  return result?.data?.error?.message ?? `Something went wrong (HTTP ${result?.status ?? "?"}).`;
}

/** Sends the browser to the sign-in page, to come back here afterwards. */
export function goToSignIn() {
  const here = location.pathname + location.search;
  location.assign("/login?next=" + encodeURIComponent(here));
}

/**
 * A same-site path to return to after sign-in (never another origin). The URL
 * parser has the last word: "/\t/evil.example" looks like a path but parses as
 * "//evil.example", so the value is resolved and its origin compared. The path
 * that comes back is checked too: dot segments ("/.//evil.example") resolve to a
 * path starting "//", which the browser would read as another host.
 */
export function safeNext(value) {
  if (typeof value !== "string" || !value.startsWith("/")) return "/";
  let url;
  try {
    url = new URL(value, location.origin);
  } catch {
    return "/";
  }
  if (url.origin !== location.origin) return "/";
  const path = url.pathname + url.search + url.hash;
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return "/";
  return path;
}

/** Signs out and goes to the sign-in page. */
export async function signOut() {
  try {
    await api("POST", "/api/logout");
  } finally {
    location.assign("/login");
  }
}
