import { vi } from "vitest";

const bytes = (...values: number[]) => new Uint8Array(values).buffer;

/** What `navigator.credentials.create` resolves with in a browser, reduced to what the app reads. */
export function fakeRegistration() {
  return {
    type: "public-key",
    id: "AQID_w",
    rawId: bytes(1, 2, 3, 255),
    response: {
      attestationObject: bytes(0xa3, 0x63),
      clientDataJSON: bytes(0x7b, 0x7d),
      getTransports: () => ["internal"],
    },
    getClientExtensionResults: () => ({ credProps: { rk: true } }),
  };
}

/** What `navigator.credentials.get` resolves with in a browser, reduced to what the app reads. */
export function fakeAssertion(userHandle: ArrayBuffer | null = bytes(7)) {
  return {
    type: "public-key",
    id: "AQID_w",
    rawId: bytes(1, 2, 3, 255),
    response: {
      authenticatorData: bytes(0x49, 0x96),
      clientDataJSON: bytes(0x7b, 0x7d),
      signature: bytes(0x30, 0x45),
      userHandle,
    },
    getClientExtensionResults: () => ({}),
  };
}

/**
 * A browser that can do WebAuthn: `window.PublicKeyCredential` exists and
 * `navigator.credentials` answers with the given fakes. Undone by
 * `vi.unstubAllGlobals()` and `uninstallAuthenticator()`.
 */
export function installAuthenticator({
  create = async () => fakeRegistration(),
  get = async () => fakeAssertion(),
}: { create?: () => Promise<unknown>; get?: () => Promise<unknown> } = {}) {
  vi.stubGlobal("PublicKeyCredential", function PublicKeyCredential() {});
  const credentials = { create: vi.fn(create), get: vi.fn(get) };
  Object.defineProperty(navigator, "credentials", { value: credentials, configurable: true });
  return credentials;
}

export function uninstallAuthenticator() {
  Reflect.deleteProperty(navigator, "credentials");
}
