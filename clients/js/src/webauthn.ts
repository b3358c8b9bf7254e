// WebAuthn speaks ArrayBuffers; latchkey's API speaks JSON with binary fields
// in base64url (no padding). These functions translate both ways by hand,
// because `PublicKeyCredential.parseCreationOptionsFromJSON` and `toJSON`
// are missing from browsers that otherwise support passkeys well.

export type Base64Url = string;

export interface CredentialDescriptorJSON {
  type: "public-key";
  id: Base64Url;
  transports?: string[];
}

/** `options.publicKey` of `POST /api/me/passkeys/registration`. */
export interface CreationOptionsJSON {
  rp: { id?: string; name: string };
  user: { id: Base64Url; name: string; displayName: string };
  challenge: Base64Url;
  pubKeyCredParams: { type: "public-key"; alg: number }[];
  timeout?: number;
  excludeCredentials?: CredentialDescriptorJSON[];
  authenticatorSelection?: AuthenticatorSelectionCriteria;
  attestation?: AttestationConveyancePreference;
  extensions?: Record<string, unknown>;
}

/** `options.publicKey` of a passkey login or re-authentication, and `webauthn.publicKey` of a second step. */
export interface RequestOptionsJSON {
  challenge: Base64Url;
  timeout?: number;
  rpId?: string;
  allowCredentials?: CredentialDescriptorJSON[];
  userVerification?: UserVerificationRequirement;
  extensions?: Record<string, unknown>;
}

/** What `POST /api/me/passkeys` takes as `credential`. */
export interface RegistrationJSON {
  id: Base64Url;
  rawId: Base64Url;
  type: "public-key";
  response: {
    attestationObject: Base64Url;
    clientDataJSON: Base64Url;
    transports?: string[];
  };
  extensions: Record<string, unknown>;
}

/** What the passkey logins, re-authentication and the passkey second step take as `credential`. */
export interface AssertionJSON {
  id: Base64Url;
  rawId: Base64Url;
  type: "public-key";
  response: {
    authenticatorData: Base64Url;
    clientDataJSON: Base64Url;
    signature: Base64Url;
    userHandle: Base64Url | null;
  };
  extensions: Record<string, unknown>;
}

export function bufferToBase64Url(buffer: ArrayBuffer | ArrayBufferView): Base64Url {
  const bytes = ArrayBuffer.isView(buffer)
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Also takes standard base64 and padding, which some servers send. Throws on anything else. */
export function base64UrlToBuffer(text: Base64Url): ArrayBuffer {
  const base64 = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*$/.test(base64) || base64.length % 4 === 1) throw new Error("not base64url");
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "="));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function descriptor(json: CredentialDescriptorJSON): PublicKeyCredentialDescriptor {
  return { ...json, id: base64UrlToBuffer(json.id) } as PublicKeyCredentialDescriptor;
}

/** For `navigator.credentials.create({ publicKey })`. Fields this module does not know pass through. */
export function creationOptionsFromJSON(json: CreationOptionsJSON): PublicKeyCredentialCreationOptions {
  return {
    ...json,
    challenge: base64UrlToBuffer(json.challenge),
    user: { ...json.user, id: base64UrlToBuffer(json.user.id) },
    ...(json.excludeCredentials ? { excludeCredentials: json.excludeCredentials.map(descriptor) } : {}),
  } as PublicKeyCredentialCreationOptions;
}

/** For `navigator.credentials.get({ publicKey })`. Fields this module does not know pass through. */
export function requestOptionsFromJSON(json: RequestOptionsJSON): PublicKeyCredentialRequestOptions {
  return {
    ...json,
    challenge: base64UrlToBuffer(json.challenge),
    ...(json.allowCredentials ? { allowCredentials: json.allowCredentials.map(descriptor) } : {}),
  } as PublicKeyCredentialRequestOptions;
}

// Client extension results can hold ArrayBuffers (prf, largeBlob) that JSON
// cannot carry and the server does not ask for; only the plain, well-known
// `credProps` (was a discoverable credential made?) is passed on.
function extensionsToJSON(credential: PublicKeyCredential): Record<string, unknown> {
  const results = credential.getClientExtensionResults?.() ?? {};
  return results.credProps ? { credProps: { ...results.credProps } } : {};
}

export function registrationToJSON(credential: PublicKeyCredential): RegistrationJSON {
  const response = credential.response as AuthenticatorAttestationResponse;
  const transports = typeof response.getTransports === "function" ? response.getTransports() : undefined;
  return {
    id: credential.id,
    rawId: bufferToBase64Url(credential.rawId),
    type: "public-key",
    response: {
      attestationObject: bufferToBase64Url(response.attestationObject),
      clientDataJSON: bufferToBase64Url(response.clientDataJSON),
      ...(transports && transports.length > 0 ? { transports } : {}),
    },
    extensions: extensionsToJSON(credential),
  };
}

export function assertionToJSON(credential: PublicKeyCredential): AssertionJSON {
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    id: credential.id,
    rawId: bufferToBase64Url(credential.rawId),
    type: "public-key",
    response: {
      authenticatorData: bufferToBase64Url(response.authenticatorData),
      clientDataJSON: bufferToBase64Url(response.clientDataJSON),
      signature: bufferToBase64Url(response.signature),
      userHandle: response.userHandle ? bufferToBase64Url(response.userHandle) : null,
    },
    extensions: {},
  };
}

/**
 * Why the browser's passkey dialog gave no passkey. The browser's own error
 * names are kept apart from the wording so an app can say it its own way:
 * `cancelled` covers both "closed" and "timed out", which browsers
 * deliberately do not tell apart.
 */
export type PasskeyDialogReason = "cancelled" | "aborted" | "exists" | "insecure" | "unsupported" | "failed";

export type PasskeyDialogAction = "create" | "get";

/** The browser's passkey dialog failed or was closed. */
export class PasskeyDialogError extends Error {
  readonly reason: PasskeyDialogReason;
  readonly action: PasskeyDialogAction;

  constructor(reason: PasskeyDialogReason, action: PasskeyDialogAction, options?: { cause?: unknown; message?: string }) {
    super(options?.message ?? `passkey dialog (${action}): ${reason}`, { cause: options?.cause });
    this.name = "PasskeyDialogError";
    this.reason = reason;
    this.action = action;
  }
}

const REASONS: Record<string, PasskeyDialogReason> = {
  NotAllowedError: "cancelled",
  AbortError: "aborted",
  InvalidStateError: "exists",
  SecurityError: "insecure",
  NotSupportedError: "unsupported",
};

function dialogError(error: unknown, action: PasskeyDialogAction): PasskeyDialogError {
  // DOMException is an Error in browsers, not always in test environments.
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  return new PasskeyDialogError(REASONS[name] ?? "failed", action, { cause: error });
}

/** The browser's passkey dialog for a new passkey; resolves with what `POST /api/me/passkeys` takes. */
export async function createPasskey(options: CreationOptionsJSON): Promise<RegistrationJSON> {
  const credential = await dialog("create", () => navigator.credentials.create({ publicKey: creationOptionsFromJSON(options) }));
  return registrationToJSON(credential);
}

/** The browser's passkey dialog for a login or a confirmation; resolves with the signed assertion. */
export async function getPasskey(options: RequestOptionsJSON): Promise<AssertionJSON> {
  const credential = await dialog("get", () => navigator.credentials.get({ publicKey: requestOptionsFromJSON(options) }));
  return assertionToJSON(credential);
}

async function dialog(action: PasskeyDialogAction, open: () => Promise<Credential | null>): Promise<PublicKeyCredential> {
  let credential: Credential | null;
  try {
    credential = await open();
  } catch (error) {
    throw dialogError(error, action);
  }
  // A dialog that answers nothing was closed as far as the user is concerned.
  if (credential?.type !== "public-key") throw new PasskeyDialogError("cancelled", action);
  return credential as PublicKeyCredential;
}

export type PasskeyAvailability =
  | { kind: "off" }
  | { kind: "ready" }
  /** Passkeys work, but only on `host` (the server's RP id): `url` is this page there. */
  | { kind: "elsewhere"; host: string; url: string };

type PageLocation = Pick<Location, "protocol" | "hostname" | "port" | "pathname" | "search">;

/**
 * Whether this page can use passkeys. A browser binds a passkey to the
 * server's RP id and offers it only on that host or its subdomains, and never
 * on an IP address: a page opened as `http://127.0.0.1:8080` with the RP id
 * `localhost` must send the user to `http://localhost:8080` instead.
 */
export function passkeyAvailability(
  features: { passkeys?: boolean; passkey_rp_id?: string | null } | null,
  location: PageLocation,
  browserSupports: boolean,
): PasskeyAvailability {
  if (!features?.passkeys || !browserSupports) return { kind: "off" };
  const rpId = features.passkey_rp_id?.toLowerCase().replace(/\.$/, "");
  if (!rpId) return { kind: "ready" };
  const host = location.hostname.toLowerCase().replace(/\.$/, "");
  if (host === rpId || host.endsWith(`.${rpId}`)) return { kind: "ready" };
  const port = location.port ? `:${location.port}` : "";
  return { kind: "elsewhere", host: rpId, url: `${location.protocol}//${rpId}${port}${location.pathname}${location.search}` };
}

/** `window.PublicKeyCredential` exists only where the browser can do WebAuthn (and in a secure context). */
export function browserSupportsPasskeys(): boolean {
  return typeof window !== "undefined" && typeof window.PublicKeyCredential === "function";
}
