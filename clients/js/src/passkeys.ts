import type { TypedApi } from "./http.js";
import type { Passkey, TokenPair, User } from "./types.js";
import { createPasskey, getPasskey, type CreationOptionsJSON, type RequestOptionsJSON } from "./webauthn.js";

/** What the passkey ceremonies need from the client. */
export interface PasskeyHost {
  readonly mode: "cookie" | "token";
  readonly api: TypedApi;
  setUser(user: User | null): void;
  acceptTokens(pair: TokenPair): Promise<User>;
  plain<T>(method: string, path: string, body: unknown): Promise<T>;
  renewed(answer: { access_token?: string | null; expires_in?: number | null } | undefined): void;
}

export interface PasskeyActions {
  /** A login with any passkey of this site: the browser lets the user pick one. */
  login(): Promise<User>;
  /** Adds a passkey to the logged-in account (may need a step-up: `reauthentication_required`). */
  register(name?: string): Promise<Passkey>;
  /** Confirms it is you with one of your passkeys, renewing the login's authentication time. */
  reauthenticate(): Promise<void>;
}

interface Ceremony<Options> {
  ceremony: string;
  options: { publicKey: Options };
}

export function passkeys(host: PasskeyHost): PasskeyActions {
  return {
    async login() {
      const started = (await host.api.POST("/api/login/passkey/options")) as Ceremony<RequestOptionsJSON>;
      const credential = await getPasskey(started.options.publicKey);
      const body = { ceremony: started.ceremony, credential };
      if (host.mode === "token") return host.acceptTokens(await host.plain<TokenPair>("POST", "/api/token/passkey", body));
      const user = (await host.api.POST("/api/login/passkey", { body })) as User;
      host.setUser(user);
      return user;
    },

    async register(name = defaultName()) {
      const started = (await host.api.POST("/api/me/passkeys/registration")) as Ceremony<CreationOptionsJSON>;
      const credential = await createPasskey(started.options.publicKey);
      return host.api.POST("/api/me/passkeys", { body: { ceremony: started.ceremony, name, credential } });
    },

    async reauthenticate() {
      const started = (await host.api.POST("/api/reauthenticate/passkey/options")) as Ceremony<RequestOptionsJSON>;
      const credential = await getPasskey(started.options.publicKey);
      host.renewed(await host.api.POST("/api/reauthenticate/passkey", { body: { ceremony: started.ceremony, credential } }));
    },
  };
}

function defaultName(): string {
  return `Passkey added ${new Date().toISOString().slice(0, 10)}`;
}
