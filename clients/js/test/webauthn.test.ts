import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeAssertion, fakeRegistration, installAuthenticator, uninstallAuthenticator } from "./webauthnMock";
import {
  assertionToJSON,
  base64UrlToBuffer,
  bufferToBase64Url,
  createPasskey,
  creationOptionsFromJSON,
  getPasskey,
  PasskeyDialogError,
  passkeyAvailability,
  registrationToJSON,
  requestOptionsFromJSON,
} from "../src/webauthn";

afterEach(() => {
  vi.unstubAllGlobals();
  uninstallAuthenticator();
});

const bytesOf = (buffer: ArrayBuffer | BufferSource | undefined) => [...new Uint8Array(buffer as ArrayBuffer)];

describe("base64url", () => {
  it("encodes without padding, with - and _ instead of + and /", () => {
    expect(bufferToBase64Url(new Uint8Array([]).buffer)).toBe("");
    expect(bufferToBase64Url(new Uint8Array([0xfb]).buffer)).toBe("-w");
    expect(bufferToBase64Url(new Uint8Array([0xff, 0xff]).buffer)).toBe("__8");
    expect(bufferToBase64Url(new TextEncoder().encode("latchkey"))).toBe("bGF0Y2hrZXk");
  });

  it("encodes only the viewed part of a typed array", () => {
    const view = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
    expect(bufferToBase64Url(view)).toBe("AQID");
  });

  it("round-trips every length and byte value", () => {
    for (let length = 0; length < 70; length++) {
      const original = Array.from({ length }, (_, i) => (i * 37 + length) % 256);
      const text = bufferToBase64Url(new Uint8Array(original).buffer);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(bytesOf(base64UrlToBuffer(text))).toEqual(original);
    }
  });

  it("decodes padded and standard base64 too", () => {
    expect(bytesOf(base64UrlToBuffer("__8="))).toEqual([0xff, 0xff]);
    expect(bytesOf(base64UrlToBuffer("//8="))).toEqual([0xff, 0xff]);
    expect(bytesOf(base64UrlToBuffer("-w=="))).toEqual([0xfb]);
  });

  it("refuses what is not base64url", () => {
    expect(() => base64UrlToBuffer("a b")).toThrow();
    expect(() => base64UrlToBuffer("abcde")).toThrow();
    expect(() => base64UrlToBuffer("ab=c")).toThrow();
  });
});

describe("options from the server", () => {
  it("turns a registration's binary fields into buffers and passes the rest through", () => {
    const options = creationOptionsFromJSON({
      rp: { id: "localhost", name: "latchkey" },
      user: { id: "AQID", name: "ada", displayName: "ada" },
      challenge: "__8",
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
      timeout: 60000,
      excludeCredentials: [{ type: "public-key", id: "BAU", transports: ["internal"] }],
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
      attestation: "none",
      extensions: { credProps: true },
    });
    expect(bytesOf(options.challenge)).toEqual([0xff, 0xff]);
    expect(bytesOf(options.user.id)).toEqual([1, 2, 3]);
    expect(options.user.name).toBe("ada");
    expect(options.excludeCredentials).toHaveLength(1);
    expect(bytesOf(options.excludeCredentials?.[0]?.id)).toEqual([4, 5]);
    expect(options.excludeCredentials?.[0]).toMatchObject({ type: "public-key", transports: ["internal"] });
    expect(options).toMatchObject({
      rp: { id: "localhost", name: "latchkey" },
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
      timeout: 60000,
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
      attestation: "none",
      extensions: { credProps: true },
    });
  });

  it("turns a login's challenge and allowed credentials into buffers", () => {
    const options = requestOptionsFromJSON({
      challenge: "AQID",
      rpId: "localhost",
      allowCredentials: [{ type: "public-key", id: "-w" }],
      userVerification: "required",
      timeout: 60000,
    });
    expect(bytesOf(options.challenge)).toEqual([1, 2, 3]);
    expect(bytesOf(options.allowCredentials?.[0]?.id)).toEqual([0xfb]);
    expect(options).toMatchObject({ rpId: "localhost", userVerification: "required", timeout: 60000 });
  });

  it("keeps an empty allow list empty (any passkey of the site) and a missing one missing", () => {
    expect(requestOptionsFromJSON({ challenge: "AQID", allowCredentials: [] }).allowCredentials).toEqual([]);
    expect(requestOptionsFromJSON({ challenge: "AQID" })).not.toHaveProperty("allowCredentials");
  });
});

describe("credentials to the server", () => {
  it("writes a new passkey as RegistrationJSON", () => {
    expect(registrationToJSON(fakeRegistration() as unknown as PublicKeyCredential)).toEqual({
      id: "AQID_w",
      rawId: "AQID_w",
      type: "public-key",
      response: { attestationObject: "o2M", clientDataJSON: "e30", transports: ["internal"] },
      extensions: { credProps: { rk: true } },
    });
  });

  it("leaves out transports a browser cannot tell", () => {
    const credential = fakeRegistration();
    const response = { attestationObject: credential.response.attestationObject, clientDataJSON: credential.response.clientDataJSON };
    const json = registrationToJSON({ ...credential, response } as unknown as PublicKeyCredential);
    expect(json.response).not.toHaveProperty("transports");
  });

  it("writes a login's signature as AssertionJSON, with or without a user handle", () => {
    expect(assertionToJSON(fakeAssertion() as unknown as PublicKeyCredential)).toEqual({
      id: "AQID_w",
      rawId: "AQID_w",
      type: "public-key",
      response: { authenticatorData: "SZY", clientDataJSON: "e30", signature: "MEU", userHandle: "Bw" },
      extensions: {},
    });
    expect(assertionToJSON(fakeAssertion(null) as unknown as PublicKeyCredential).response.userHandle).toBeNull();
  });
});

describe("the browser's dialog", () => {
  it("is given the converted options and answers JSON", async () => {
    const calls = installAuthenticator();
    const json = await getPasskey({ challenge: "AQID", allowCredentials: [] });
    expect(json.response.signature).toBe("MEU");
    const [options] = calls.get as [CredentialRequestOptions];
    expect(bytesOf(options.publicKey?.challenge)).toEqual([1, 2, 3]);
  });

  it("tells why the dialog gave no passkey, leaving the wording to the app", async () => {
    installAuthenticator({
      create: () => Promise.reject(new DOMException("The operation either timed out or was not allowed.", "NotAllowedError")),
      get: () => Promise.reject(new DOMException("The relying party ID is not a registrable domain suffix.", "SecurityError")),
    });
    const options = {
      rp: { name: "latchkey" },
      user: { id: "AQ", name: "ada", displayName: "ada" },
      challenge: "AQ",
      pubKeyCredParams: [],
    };
    const created = await createPasskey(options).catch((e: unknown) => e);
    expect(created).toBeInstanceOf(PasskeyDialogError);
    expect(created).toMatchObject({ reason: "cancelled", action: "create" });
    expect((created as Error).cause).toBeInstanceOf(DOMException);
    await expect(getPasskey({ challenge: "AQ" })).rejects.toMatchObject({ reason: "insecure", action: "get" });
  });

  it("calls a dialog that answers nothing cancelled, and an unknown failure failed", async () => {
    installAuthenticator({ get: async () => null, create: () => Promise.reject(new Error("boom")) });
    await expect(getPasskey({ challenge: "AQ" })).rejects.toMatchObject({ reason: "cancelled" });
    const options = { rp: { name: "l" }, user: { id: "AQ", name: "a", displayName: "a" }, challenge: "AQ", pubKeyCredParams: [] };
    await expect(createPasskey(options)).rejects.toMatchObject({ reason: "failed" });
  });
});

describe("where passkeys can be used", () => {
  const at = (url: string) => new URL(url);
  const on = { passkeys: true, passkey_rp_id: "localhost" };

  it("is nowhere when the server or the browser lacks them", () => {
    expect(passkeyAvailability(null, at("http://localhost:8080/login"), true)).toEqual({ kind: "off" });
    expect(passkeyAvailability({ ...on, passkeys: false }, at("http://localhost:8080/login"), true)).toEqual({ kind: "off" });
    expect(passkeyAvailability({}, at("http://localhost:8080/login"), true)).toEqual({ kind: "off" });
    expect(passkeyAvailability(on, at("http://localhost:8080/login"), false)).toEqual({ kind: "off" });
  });

  it("is here on the RP id's host and its subdomains", () => {
    expect(passkeyAvailability(on, at("http://localhost:8080/login"), true)).toEqual({ kind: "ready" });
    const example = { passkeys: true, passkey_rp_id: "example.com" };
    expect(passkeyAvailability(example, at("https://auth.example.com/account"), true)).toEqual({ kind: "ready" });
    expect(passkeyAvailability(example, at("https://EXAMPLE.com./account"), true)).toEqual({ kind: "ready" });
    expect(passkeyAvailability({ passkeys: true, passkey_rp_id: null }, at("https://x.test/"), true)).toEqual({ kind: "ready" });
  });

  it("points an IP address or another host to the same page on the RP id", () => {
    expect(passkeyAvailability(on, at("http://127.0.0.1:8080/login?next=%2Faccount"), true)).toEqual({
      kind: "elsewhere",
      host: "localhost",
      url: "http://localhost:8080/login?next=%2Faccount",
    });
    const example = { passkeys: true, passkey_rp_id: "example.com" };
    expect(passkeyAvailability(example, at("https://notexample.com/account"), true)).toEqual({
      kind: "elsewhere",
      host: "example.com",
      url: "https://example.com/account",
    });
  });
});
