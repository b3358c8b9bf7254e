import { ErrorResponse, type User, type UserManager } from "oidc-client-ts";
import { postLogoutRedirectUri, userManager } from "./auth";
import { loadConfig } from "./config";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** A line in "What happened", so a reader can follow the protocol as it runs. */
function log(text: string): void {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $("log").append(item);
}

function showError(text: string): void {
  $("error").textContent = text;
  $("error").hidden = false;
  log(text);
}

function describe(error: unknown): string {
  if (error instanceof ErrorResponse) {
    return [error.error, error.error_description].filter(Boolean).join(": ");
  }
  return error instanceof Error ? error.message : String(error);
}

function render(user: User | null): void {
  const signedIn = !!user && !user.expired;
  $("signed-out").hidden = signedIn;
  $("signed-in").hidden = !signedIn;
  $("status").textContent = signedIn ? "Logged in" : "Not logged in";
  if (!signedIn) return;

  const claims = user.profile;
  $("hello").textContent = `Hello, ${claims.preferred_username ?? claims.sub}`;
  const rows = Object.entries(claims).map(([name, value]) => {
    const row = document.createElement("tr");
    const th = document.createElement("th");
    const td = document.createElement("td");
    th.scope = "row";
    th.textContent = name;
    td.textContent = typeof value === "string" ? value : JSON.stringify(value);
    row.append(th, td);
    return row;
  });
  $("claims").replaceChildren(...rows);

  // The access token is for the API it is meant for, not for this app to read: only
  // its end is shown, to see it change on renewal.
  const expires = user.expires_at ? new Date(user.expires_at * 1000).toLocaleTimeString() : "never";
  $("access-token").textContent = `…${user.access_token.slice(-8)}, expires at ${expires}, scope "${user.scope ?? ""}"`;
}

async function showUserinfo(manager: UserManager, user: User): Promise<void> {
  const target = $("userinfo");
  try {
    const endpoint = await manager.metadataService.getUserInfoEndpoint();
    const response = await fetch(endpoint, { headers: { Authorization: `Bearer ${user.access_token}` } });
    const body = await response.text();
    let shown = body;
    try {
      shown = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // Not JSON: shown as it came.
    }
    target.textContent = response.ok ? shown : `${response.status} ${response.headers.get("WWW-Authenticate") ?? ""}\n${shown}`;
  } catch (error) {
    target.textContent = `The userinfo request failed: ${describe(error)}`;
  }
}

function randomString(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function start(): Promise<void> {
  const config = await loadConfig();
  if (typeof config === "string") {
    $("status").textContent = "Not configured";
    showError(config);
    return;
  }
  const manager = userManager(config);
  await manager.clearStaleState();

  // Fired after the login callback and after every renewal, automatic or not (and
  // when "Log out" has revoked the tokens, with the same access token).
  let shownToken: string | null = null;
  manager.events.addUserLoaded((user) => {
    if (user.access_token === shownToken) return;
    if (shownToken) log(`Access token renewed (…${user.access_token.slice(-8)}).`);
    shownToken = user.access_token;
    render(user);
    void showUserinfo(manager, user);
  });
  manager.events.addSilentRenewError((error) => showError(`Renewing the access token failed: ${describe(error)}`));
  manager.events.addUserUnloaded(() => render(null));

  const url = new URL(window.location.href);
  if (url.pathname === "/callback") {
    try {
      const user = await manager.signinRedirectCallback();
      log(`Logged in as ${user.profile.preferred_username ?? user.profile.sub}.`);
    } catch (error) {
      // latchkey's answer, e.g. `access_denied` when the user clicked "Deny".
      showError(`Login did not complete: ${describe(error)}`);
    }
    window.history.replaceState(null, "", "/");
  } else if (url.href.startsWith(postLogoutRedirectUri) && url.searchParams.has("state")) {
    // Back from latchkey's end_session_endpoint.
    try {
      await manager.signoutRedirectCallback();
      log("Logged out of latchkey.");
    } catch (error) {
      showError(`Logout did not complete: ${describe(error)}`);
    }
    window.history.replaceState(null, "", "/");
  }

  const user = await manager.getUser();
  if (user?.access_token !== shownToken) {
    shownToken = user?.access_token ?? null;
    render(user);
    if (user && !user.expired) void showUserinfo(manager, user);
  } else if (!user) {
    render(null);
  }

  $("login").addEventListener("click", () => {
    $("error").hidden = true;
    // A nonce ties the ID token to this login (PKCE already ties the code to it).
    manager.signinRedirect({ nonce: randomString() }).catch((error: unknown) => showError(`Could not start the login: ${describe(error)}`));
  });
  $("renew").addEventListener("click", () => {
    $("error").hidden = true;
    manager.signinSilent().catch((error: unknown) => showError(`Renewing the access token failed: ${describe(error)}`));
  });
  $("logout").addEventListener("click", () => {
    $("error").hidden = true;
    // With a state, latchkey's answer can be told from any other visit of this page.
    manager.signoutRedirect({ state: "logout" }).catch((error: unknown) => showError(`Could not log out: ${describe(error)}`));
  });
}

start().catch((error: unknown) => showError(`The app failed to start: ${describe(error)}`));
