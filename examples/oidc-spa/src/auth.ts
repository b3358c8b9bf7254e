import { Log, UserManager, WebStorageStateStore } from "oidc-client-ts";
import type { Config } from "./config";

Log.setLogger(console);
Log.setLevel(Log.WARN);

/** Where latchkey sends the browser back; both must be registered exactly as written here. */
export const redirectUri = `${window.location.origin}/callback`;
export const postLogoutRedirectUri = `${window.location.origin}/`;

export function userManager(config: Config): UserManager {
  return new UserManager({
    authority: config.authority,
    client_id: config.client_id,
    // A public client: no secret, so oidc-client-ts sends `client_id` in the token
    // request's body (token_endpoint_auth_method "none") and proves the code with PKCE
    // (S256, on by default).
    redirect_uri: redirectUri,
    post_logout_redirect_uri: postLogoutRedirectUri,
    response_type: "code",
    scope: config.scope,
    // Renew the access token a minute before it expires. With a refresh token in hand
    // oidc-client-ts uses the refresh_token grant (no hidden iframe, no third-party
    // cookies); latchkey rotates the refresh token on each use.
    automaticSilentRenew: true,
    accessTokenExpiringNotificationTimeInSeconds: 60,
    // On "Log out": revoke the tokens first (ending their whole family at latchkey),
    // then end latchkey's session with id_token_hint.
    revokeTokensOnSignout: true,
    // Show every claim of the ID token, protocol ones (auth_time, amr, azp, …) included.
    filterProtocolClaims: false,
    // The app calls the userinfo endpoint itself, to show its answer separately.
    loadUserInfo: false,
    // The tokens last as long as the tab (sessionStorage, oidc-client-ts's default,
    // spelled out). Keep them out of localStorage: any script on the origin can read it,
    // across every tab, for as long as it is not cleared.
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });
}
