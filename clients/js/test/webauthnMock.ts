// A browser that can do WebAuthn, reduced to what the encoding reads: the
// credentials `navigator.credentials` would hand back, and a way to install it.

const buffer = (...values: number[]) => new Uint8Array(values).buffer;
const RAW_ID = buffer(1, 2, 3, 255);
const CLIENT_DATA = buffer(0x7b, 0x7d);

export function fakeRegistration() {
  const response = { attestationObject: buffer(0xa3, 0x63), clientDataJSON: CLIENT_DATA, getTransports: () => ["internal"] };
  return { type: "public-key", id: "AQID_w", rawId: RAW_ID, response, getClientExtensionResults: () => ({ credProps: { rk: true } }) };
}

export function fakeAssertion(userHandle: ArrayBuffer | null = buffer(7)) {
  const response = { authenticatorData: buffer(0x49, 0x96), clientDataJSON: CLIENT_DATA, signature: buffer(0x30, 0x45), userHandle };
  return { type: "public-key", id: "AQID_w", rawId: RAW_ID, response, getClientExtensionResults: () => ({}) };
}

interface Calls {
  create: unknown[];
  get: unknown[];
}

/** Installs `navigator.credentials` and `window.PublicKeyCredential`; returns the options each call was given. */
export function installAuthenticator(answers: { create?: () => Promise<unknown>; get?: () => Promise<unknown> } = {}): Calls {
  const calls: Calls = { create: [], get: [] };
  const credentials = {
    create: (options: unknown) => (calls.create.push(options), (answers.create ?? (async () => fakeRegistration()))()),
    get: (options: unknown) => (calls.get.push(options), (answers.get ?? (async () => fakeAssertion()))()),
  };
  Object.defineProperty(navigator, "credentials", { value: credentials, configurable: true });
  Object.defineProperty(window, "PublicKeyCredential", { value: function PublicKeyCredential() {}, configurable: true });
  return calls;
}

export function uninstallAuthenticator(): void {
  Reflect.deleteProperty(navigator, "credentials");
  Reflect.deleteProperty(window, "PublicKeyCredential");
}
