// @latchkey/client: a typed browser client for latchkey.
//
// `createClient` gives one object for a whole app: the session (cookie or
// tokens shared between tabs), typed calls to every route of the OpenAPI
// document, passkeys, step-up and identity providers. React bindings live in
// `@latchkey/client/react`.

export { createClient } from "./client.js";
export type { ClientOptions, LatchkeyClient, LoginResult, Mode, SecondFactorProof, SignupInput } from "./client.js";
export { isLatchkeyError, LatchkeyError, parseRetryAfter } from "./errors.js";
export type { ClientErrorCode, ErrorCode, FieldErrors, LatchkeyErrorInit, SecondFactorChallenge } from "./errors.js";
export { buildPath } from "./http.js";
export type { HttpMethod, PathsWith, RequestInitOf, SuccessBody, TypedApi } from "./http.js";
export type { PasskeyActions } from "./passkeys.js";
export type { StepUpConfirm, StepUpProof } from "./stepUp.js";
export type { TokenStorage } from "./refreshStore.js";
export type { ChannelLike, LockManagerLike, StorageLike } from "./tabs.js";
export type { ErrorBody, Features, Passkey, Provider, TokenPair, User } from "./types.js";
export type { components, operations, paths } from "./schema.js";
export {
  assertionToJSON,
  base64UrlToBuffer,
  browserSupportsPasskeys,
  bufferToBase64Url,
  createPasskey,
  creationOptionsFromJSON,
  getPasskey,
  PasskeyDialogError,
  passkeyAvailability,
  registrationToJSON,
  requestOptionsFromJSON,
} from "./webauthn.js";
export type {
  AssertionJSON,
  Base64Url,
  CreationOptionsJSON,
  CredentialDescriptorJSON,
  PasskeyAvailability,
  PasskeyDialogAction,
  PasskeyDialogReason,
  RegistrationJSON,
  RequestOptionsJSON,
} from "./webauthn.js";
