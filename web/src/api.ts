// A thin typed layer over the REST API (docs/rest-api.md). The types come from docs/openapi.json
// through openapi-typescript at build time (npm run gen-types -> src/gen/openapi.ts).
import type { components } from "./gen/openapi";

export type S = components["schemas"];
export type Client = S["Client"];
export type ClientPage = S["ClientPage"];
export type ClientObjects = S["ClientObjects"];
export type ObjectLink = S["ObjectLink"];
export type Model = S["Model"];
export type ModelResource = NonNullable<Model["resources"]>[number];
export type DeviceResult = S["DeviceResult"];
export type Security = S["Security"];
export type SecurityInput = S["SecurityInput"];
export type SecurityPage = S["SecurityPage"];
export type BootstrapConfig = S["BootstrapConfig"];
export type BootstrapPage = S["BootstrapPage"];
export type BootstrapStatus = S["BootstrapStatus"];
export type Attributes = S["Attributes"];
export type ApiEvent = S["Event"];
export type EventHistory = S["EventHistory"];
export type HistoryEvent = S["HistoryEvent"];
export type Version = S["Version"];
export type ModelSummary = S["ModelSummary"];
export type ValueType = NonNullable<S["Resource"]["type"]>;

/** Content formats a device operation may ask for (`?format=`). */
export const FORMATS = ["", "tlv", "senml-json", "senml-cbor", "lwm2m-json", "lwm2m-cbor", "text", "opaque"] as const;
export type Format = (typeof FORMATS)[number];

const TOKEN_KEY = "lwm2m.api-token";

/** The API token lives in sessionStorage only: gone when the tab closes. */
export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An HTTP-level failure with the API's error body (`{"error": {status, code, message}}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};
/** Called when the server answers 401 (token wrong or rotated): the app signs out. */
export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}

type Query = Record<string, string | number | boolean | undefined | null>;

function url(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return "api" + path + (s ? "?" + s : "");
}

/** Percent-encodes one path segment (endpoint names may contain anything). */
export const seg = (s: string) => encodeURIComponent(s);

/** One request; resolves with the JSON body (or null for 204), rejects with ApiError. */
export async function request<T>(method: string, path: string, opts: { query?: Query; body?: unknown; tok?: string; xml?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const t = opts.tok ?? token.get();
  if (t) headers.Authorization = "Bearer " + t;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  } else if (opts.xml !== undefined) {
    headers["Content-Type"] = "application/xml";
    body = opts.xml;
  }
  let res: Response;
  try {
    res = await fetch(url(path, opts.query), { method, headers, body, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "network", "the server cannot be reached: " + String(e));
  }
  const text = await res.text();
  let json: unknown = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401 && !opts.tok) onUnauthorized();
    throw new ApiError(res.status, err?.code ?? "http_" + res.status, err?.message ?? res.statusText);
  }
  return json as T;
}

/** Device operations: every answer carries the CoAP code and the round-trip time. */
export type DeviceOp = "read" | "discover" | "write" | "write-partial" | "execute" | "observe" | "cancel" | "attributes" | "create" | "delete";

export interface OpAnswer {
  op: DeviceOp | "composite-read" | "composite-observe";
  path: string;
  at: number;
  /** wall time of the whole HTTP request in ms */
  elapsed_ms: number;
  result?: DeviceResult;
  error?: ApiError;
}

export async function deviceOp(ep: string, op: DeviceOp, path: string, format: Format, body?: unknown): Promise<OpAnswer> {
  const p = path.replace(/^\//, "");
  const route: Record<DeviceOp, [string, string]> = {
    read: ["GET", "read"],
    discover: ["GET", "discover"],
    write: ["PUT", "write"],
    "write-partial": ["PATCH", "write"],
    execute: ["POST", "execute"],
    observe: ["POST", "observe"],
    cancel: ["DELETE", "observe"],
    attributes: ["PUT", "attributes"],
    create: ["POST", "create"],
    delete: ["DELETE", "delete"],
  };
  const [method, r] = route[op];
  const query: Query = {};
  if (format && (op === "read" || op === "write" || op === "write-partial" || op === "observe" || op === "create")) query.format = format;
  const t0 = performance.now();
  const a: OpAnswer = { op, path, at: Date.now(), elapsed_ms: 0 };
  try {
    a.result = await request<DeviceResult>(method, `/clients/${seg(ep)}/${r}/${p}`, { query, body });
  } catch (e) {
    a.error = e instanceof ApiError ? e : new ApiError(0, "client", String(e));
  }
  a.elapsed_ms = performance.now() - t0;
  return a;
}

export async function compositeOp(ep: string, op: "composite-read" | "composite-observe", paths: string[], format: Format): Promise<OpAnswer> {
  const t0 = performance.now();
  const a: OpAnswer = { op, path: paths.join(", "), at: Date.now(), elapsed_ms: 0 };
  try {
    a.result = await request<DeviceResult>("POST", `/clients/${seg(ep)}/${op === "composite-read" ? "composite/read" : "composite/observe"}`, {
      query: { format },
      body: { paths },
    });
  } catch (e) {
    a.error = e instanceof ApiError ? e : new ApiError(0, "client", String(e));
  }
  a.elapsed_ms = performance.now() - t0;
  return a;
}

export const api = {
  version: () => request<Version>("GET", "/version"),
  checkToken: (t: string) => request<Version>("GET", "/version", { tok: t }),
  clients: (q: { offset: number; limit: number; ep_prefix?: string; ep?: string }) => request<ClientPage>("GET", "/clients", { query: q }),
  client: (ep: string) => request<Client>("GET", `/clients/${seg(ep)}`),
  objects: (ep: string) => request<ClientObjects>("GET", `/clients/${seg(ep)}/objects`),
  model: (oid: number) => request<Model>("GET", `/models/${oid}`),
  security: (q: { offset: number; limit: number }) => request<SecurityPage>("GET", "/security", { query: q }),
  addSecurity: (s: SecurityInput) => request<Security>("POST", "/security", { body: s }),
  deleteSecurity: (ep: string) => request<null>("DELETE", `/security/${seg(ep)}`),
  bootstraps: (q: { offset: number; limit: number }) => request<BootstrapPage>("GET", "/bootstrap", { query: q }),
  addBootstrap: (c: BootstrapConfig) => request<BootstrapConfig>("POST", "/bootstrap", { body: c }),
  deleteBootstrap: (ep: string) => request<null>("DELETE", `/bootstrap/${seg(ep)}`),
  models: () => request<{ items?: ModelSummary[] }>("GET", "/models"),
  uploadModel: (xml: string, replace: boolean) => request<ModelSummary>("POST", "/models", { xml, query: { replace: replace || undefined } }),
  bootstrapStatus: (ep: string) => request<BootstrapStatus>("GET", `/bootstrap/${seg(ep)}/status`),
  history: (q: { ep?: string; after?: number; limit?: number }) => request<EventHistory>("GET", "/events/history", { query: q }),
  // PUT replaces the whole configuration (write-only keys must be given again).
  replaceBootstrap: (ep: string, c: BootstrapConfig) => request<BootstrapConfig>("PUT", `/bootstrap/${seg(ep)}`, { body: c }),
};

/** Model cache: object models do not change while the page is open. */
const models = new Map<number, Promise<Model | null>>();
export function modelOf(oid: number): Promise<Model | null> {
  let m = models.get(oid);
  if (!m) {
    // an unknown model is asked again next time (a DDF may have been loaded meanwhile)
    m = api.model(oid).catch(() => (models.delete(oid), null));
    models.set(oid, m);
  }
  return m;
}
