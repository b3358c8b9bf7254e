// Names for the schema's shapes that apps use most, so they need not spell
// out `components["schemas"][…]` or an operation's answer.

import type { SuccessBody } from "./http.js";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];

export type User = Schemas["User"];
export type TokenPair = Schemas["TokenPair"];
export type ErrorBody = Schemas["ErrorBody"];
export type Features = SuccessBody<paths["/api/features"]["get"]>;
/** A configured identity provider ("Continue with …"), as `GET /api/features` lists it. */
export type Provider = NonNullable<Features["providers"]>[number];
export type Passkey = SuccessBody<paths["/api/me/passkeys"]["post"]>;
