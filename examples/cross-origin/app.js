// Everything an SPA on another origin needs to use latchkey's cookie session:
// `credentials: "include"` on every call, JSON bodies, and the server's own
// origin in latchkey's `cors.allowed_origins`. `?api=` points it at a
// latchkey elsewhere than the default.
const API = new URLSearchParams(location.search).get("api") || "http://localhost:8080";

const $ = (id) => document.getElementById(id);
$("origin").textContent = location.origin;
$("api").textContent = API;

function api(method, path, body) {
  return fetch(API + path, {
    method,
    credentials: "include",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
}

function show(text, user, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
  $("user").hidden = !user;
  $("user").textContent = user ? JSON.stringify(user, null, 2) : "";
}

async function checkSession() {
  try {
    const res = await api("GET", "/api/check_session");
    if (res.status === 200) {
      const user = await res.json();
      show(`Logged in as ${user.username}`, user);
    } else {
      show("Not logged in");
    }
  } catch {
    show(`Could not reach latchkey at ${API} (is it running, with this origin in cors.allowed_origins?)`, null, true);
  }
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = event.submitter;
  button.disabled = true;
  try {
    const res = await api("POST", "/api/login", { username: $("username").value, password: $("password").value });
    if (res.ok) {
      $("password").value = "";
      await checkSession();
    } else {
      const error = await res.json().catch(() => ({}));
      show(`Login failed: ${error.message || res.status} (${error.error || "no code"})`, null, true);
    }
  } catch {
    show(`Could not reach latchkey at ${API}`, null, true);
  } finally {
    button.disabled = false;
  }
});

$("check").addEventListener("click", checkSession);

$("logout").addEventListener("click", async () => {
  await api("DELETE", "/api/logout").catch(() => {});
  await checkSession();
});

checkSession();
