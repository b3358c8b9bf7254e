// A typed `fetch` over the OpenAPI document's `paths`: the path, its
// parameters, the JSON body and the answer are all checked against what
// the server declares, with no client library beyond `fetch` itself.

import { badResponse, errorFromResponse, isLatchkeyError, networkError } from "./errors.js";
import type { paths } from "./schema.js";

export type HttpMethod = "get" | "put" | "post" | "delete";

/** The paths that answer `method`. */
export type PathsWith<M extends HttpMethod> = {
  [P in keyof paths]: paths[P][M & keyof paths[P]] extends { responses: unknown } ? P : never;
}[keyof paths];

type Operation<P extends keyof paths, M extends HttpMethod> = NonNullable<paths[P][M & keyof paths[P]]>;

type JsonContent<R> = R extends { content: { "application/json": infer Body } } ? Body : undefined;

/** The body of a 2xx answer (`undefined` for 204). */
export type SuccessBody<Op> = Op extends { responses: infer Responses }
  ? { [S in keyof Responses]: S extends 200 | 201 | 202 | 204 | "200" | "201" | "202" | "204" ? JsonContent<Responses[S]> : never }[keyof Responses]
  : never;

type RequestBodyOf<Op> = Op extends { requestBody: { content: infer Content } }
  ? Content extends { "application/json": infer Body }
    ? Body
    : Blob
  : Op extends { requestBody?: { content: infer Content } }
    ? Content extends { "application/json": infer Body }
      ? Body | undefined
      : Blob | undefined
    : never;

type ParamsOf<Op> = Op extends { parameters: infer Params }
  ? {
      [K in keyof Params as K extends "path" | "query" ? (Params[K] extends undefined ? never : K) : never]: Params[K];
    }
  : never;

type HasRequired<T> = {} extends T ? false : true;

/** What a call takes besides the path: `params` when the path or query has any, `body` when the operation reads one. */
export type RequestInitOf<Op> = (HasRequired<ParamsOf<Op>> extends true
  ? { params: ParamsOf<Op> }
  : { params?: ParamsOf<Op> }) &
  ([RequestBodyOf<Op>] extends [never] ? { body?: never } : undefined extends RequestBodyOf<Op> ? { body?: RequestBodyOf<Op> } : { body: RequestBodyOf<Op> }) & {
    signal?: AbortSignal | undefined;
    headers?: Record<string, string>;
  };

type Args<Op> = HasRequired<RequestInitOf<Op>> extends true ? [init: RequestInitOf<Op>] : [init?: RequestInitOf<Op>];

export interface TypedApi {
  GET<P extends PathsWith<"get">>(path: P, ...init: Args<Operation<P, "get">>): Promise<SuccessBody<Operation<P, "get">>>;
  POST<P extends PathsWith<"post">>(path: P, ...init: Args<Operation<P, "post">>): Promise<SuccessBody<Operation<P, "post">>>;
  PUT<P extends PathsWith<"put">>(path: P, ...init: Args<Operation<P, "put">>): Promise<SuccessBody<Operation<P, "put">>>;
  DELETE<P extends PathsWith<"delete">>(path: P, ...init: Args<Operation<P, "delete">>): Promise<SuccessBody<Operation<P, "delete">>>;
}

/** The untyped shape every typed call comes down to. */
export interface RawRequest {
  params?: { path?: Record<string, unknown>; query?: Record<string, unknown> };
  body?: unknown;
  signal?: AbortSignal | undefined;
  headers?: Record<string, string>;
}

/** Sends with the client's credentials: `auth.fetch`. */
export type Send = (url: string, init: RequestInit) => Promise<Response>;

export function createApi(baseUrl: string, send: Send): TypedApi {
  const call =
    (method: string) =>
    (path: string, init?: RawRequest): Promise<never> =>
      request(send, method, baseUrl + buildPath(path, init?.params), init ?? {}) as Promise<never>;
  return { GET: call("GET"), POST: call("POST"), PUT: call("PUT"), DELETE: call("DELETE") };
}

/** `/api/users/{id}` with `{ id: 7 }` and `{ limit: 50, after: null }` → `/api/users/7?limit=50`. */
export function buildPath(template: string, params: RawRequest["params"]): string {
  const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.path?.[name];
    if (value === undefined || value === null) throw new TypeError(`${template}: missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params?.query ?? {})) {
    // An absent cursor must not be sent as "undefined" or "null".
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  const query = search.toString();
  return query === "" ? path : `${path}?${query}`;
}

/**
 * One request: JSON in (or a Blob as is, with its own type), JSON out.
 * Resolves with the parsed body, or `undefined` for an empty answer (204);
 * rejects with a LatchkeyError for every non-2xx answer and network failure.
 * An abort is rethrown as is.
 */
export async function request(send: Send, method: string, url: string, init: RawRequest): Promise<unknown> {
  const headers: Record<string, string> = { Accept: "application/json", ...init.headers };
  let body: BodyInit | undefined;
  if (init.body instanceof Blob) {
    headers["Content-Type"] = init.body.type || "application/octet-stream";
    body = init.body;
  } else if (init.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(init.body);
  }

  let response: Response;
  try {
    response = await send(url, { method, headers, body, signal: init.signal });
  } catch (error) {
    // A refresh that failed on the way (token mode) is already a LatchkeyError.
    if (isAbort(error) || isLatchkeyError(error)) throw error;
    throw networkError(error);
  }

  const text = await response.text();
  if (!response.ok) throw errorFromResponse(response, text);
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badResponse(response.status, error);
  }
}

function isAbort(error: unknown): boolean {
  return (error instanceof DOMException || error instanceof Error) && error.name === "AbortError";
}

