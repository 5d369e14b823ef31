// The bootstrap configuration as a form (web/src/pages/Bootstrap.tsx) and its mapping to and
// from the REST API's BootstrapConfig JSON (docs/openapi.json, src/http/api.cpp
// bootstrap_from_json): text fields as the operator typed them, converted on submit, with one
// message per field. Kept free of the DOM so node's test runner checks it (web/test).
//
// Secrets: the server reads keys back as "psk_key": "<set>" / "private_key": "<set>" and a PUT
// REPLACES the whole configuration without keeping them (the API has no "keep the stored key").
// The form therefore remembers that a key was set (keySet) and asks for it again when a replace
// needs it; in JSON the marker stays "<set>" (bootstrapErrors refuses it with the same reason).
import { bootstrapErrors, hexError, identityError, normHex, utf8Bytes } from "./validate.js";

export type Mode = "psk" | "rpk" | "x509" | "nosec";
export type DeleteMode = "default" | "none" | "list";

export interface SecurityRow {
  instanceId: string;
  uri: string;
  bootstrapServer: boolean;
  mode: Mode;
  identity: string;
  identityHex: boolean;
  keyHex: string;
  /** the stored configuration has a PSK key ("<set>"): it cannot be read back */
  keySet: boolean;
  generate: boolean;
  genKeyBytes: string;
  genIdentityBytes: string;
  publicKeyHex: string;
  privateKeyHex: string;
  privateKeySet: boolean;
  serverPublicKeyHex: string;
  shortServerId: string;
  clientHoldOff: string;
}

export interface ServerRow {
  instanceId: string;
  shortServerId: string;
  lifetime: string;
  binding: string;
  pmin: string;
  pmax: string;
  disableTimeout: string;
  notificationStoring: boolean;
}

export interface AclRight {
  ssid: string;
  /** 1 Read, 2 Write, 4 Execute, 8 Delete, 16 Create (LwM2M TS 1.1 §E.3, Resource 2) */
  bits: number;
}

export interface AclRow {
  instanceId: string;
  objectId: string;
  objectInstanceId: string;
  owner: string;
  rights: AclRight[];
}

export interface BootstrapForm {
  endpoint: string;
  deleteMode: DeleteMode;
  deletePaths: string;
  format: string;
  security: SecurityRow[];
  servers: ServerRow[];
  acls: AclRow[];
}

export const RIGHTS: [string, number][] = [
  ["R", 1],
  ["W", 2],
  ["E", 4],
  ["D", 8],
  ["C", 16],
];

export const newSecurity = (n: number, bootstrapServer = false): SecurityRow => ({
  instanceId: String(n),
  uri: "",
  bootstrapServer,
  mode: "psk",
  identity: "",
  identityHex: false,
  keyHex: "",
  keySet: false,
  generate: false,
  genKeyBytes: "16",
  genIdentityBytes: "32",
  publicKeyHex: "",
  privateKeyHex: "",
  privateKeySet: false,
  serverPublicKeyHex: "",
  shortServerId: bootstrapServer ? "" : "101",
  clientHoldOff: "",
});

export const newServer = (n: number): ServerRow => ({
  instanceId: String(n),
  shortServerId: String(101 + n),
  lifetime: "86400",
  binding: "U",
  pmin: "",
  pmax: "",
  disableTimeout: "",
  notificationStoring: true,
});

export const newAcl = (n: number): AclRow => ({ instanceId: String(n), objectId: "3", objectInstanceId: "0", owner: "101", rights: [{ ssid: "101", bits: 1 }] });

export const emptyForm = (): BootstrapForm => ({
  endpoint: "",
  deleteMode: "default",
  deletePaths: "/0, /1",
  format: "",
  security: [newSecurity(0)],
  servers: [newServer(0)],
  acls: [],
});

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (v === undefined || v === null ? "" : String(v));
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/** The form of a BootstrapConfig JSON (from GET /api/bootstrap/{ep} or the JSON editor). */
export function formFromConfig(c: unknown): BootstrapForm {
  const j = isObj(c) ? c : {};
  const del = j.delete;
  const f: BootstrapForm = {
    endpoint: str(j.endpoint),
    deleteMode: del === undefined ? "default" : Array.isArray(del) && del.length === 0 ? "none" : "list",
    deletePaths: Array.isArray(del) && del.length ? del.map(str).join(", ") : "/0, /1",
    format: str(j.format),
    security: [],
    servers: [],
    acls: [],
  };
  for (const s of arr(j.security)) {
    const g = isObj(s.generate) ? s.generate : undefined;
    const hexId = typeof s.psk_identity !== "string" && typeof s.psk_identity_hex === "string";
    f.security.push({
      instanceId: str(s.instance_id),
      uri: str(s.uri),
      bootstrapServer: s.bootstrap_server === true,
      mode: (["psk", "rpk", "x509", "nosec"].includes(s.mode as string) ? s.mode : str(s.uri).startsWith("coaps") ? "psk" : "nosec") as Mode,
      identity: hexId ? str(s.psk_identity_hex) : str(s.psk_identity),
      identityHex: hexId,
      keyHex: typeof s.psk_key_hex === "string" ? s.psk_key_hex : "",
      keySet: s.psk_key === "<set>",
      generate: g !== undefined,
      genKeyBytes: str(g?.psk_key_bytes ?? 16),
      genIdentityBytes: str(g?.psk_identity_bytes ?? 32),
      publicKeyHex: str(s.public_key_hex),
      privateKeyHex: typeof s.private_key_hex === "string" ? s.private_key_hex : "",
      privateKeySet: s.private_key === "<set>",
      serverPublicKeyHex: str(s.server_public_key_hex),
      shortServerId: str(s.short_server_id),
      clientHoldOff: str(s.client_hold_off),
    });
  }
  for (const s of arr(j.servers))
    f.servers.push({
      instanceId: str(s.instance_id),
      shortServerId: str(s.short_server_id),
      lifetime: str(s.lifetime),
      binding: str(s.binding),
      pmin: str(s.default_min_period),
      pmax: str(s.default_max_period),
      disableTimeout: str(s.disable_timeout),
      notificationStoring: s.notification_storing !== false,
    });
  for (const a of arr(j.acls))
    f.acls.push({
      instanceId: str(a.instance_id),
      objectId: str(a.object_id),
      objectInstanceId: str(a.object_instance_id),
      owner: str(a.owner),
      rights: isObj(a.acl) ? Object.entries(a.acl).map(([ssid, bits]) => ({ ssid, bits: typeof bits === "number" ? bits : 0 })) : [],
    });
  return f;
}

const uintText = /^\d+$/;
/** A number field: "" -> undefined (left out), digits -> number, anything else kept as text so
 * bootstrapErrors / the server name the mistake. */
const num = (s: string): number | string | undefined => (s.trim() === "" ? undefined : uintText.test(s.trim()) ? Number(s.trim()) : s.trim());

/** The BootstrapConfig JSON of a form (what is POSTed / PUT, and what "Edit as JSON" shows).
 * Empty optional fields are left out (the server's defaults apply). A stored key the operator
 * did not type again stays the "<set>" marker. */
export function configFromForm(f: BootstrapForm): Obj {
  const c: Obj = { endpoint: f.endpoint.trim() };
  if (f.deleteMode === "none") c.delete = [];
  else if (f.deleteMode === "list")
    c.delete = f.deletePaths
      .split(/[\s,]+/)
      .map((p) => p.trim())
      .filter((p) => p.length);
  if (f.format) c.format = f.format;
  const put = (o: Obj, k: string, v: unknown) => {
    if (v !== undefined && v !== "") o[k] = v;
  };
  c.security = f.security.map((s) => {
    const o: Obj = {};
    put(o, "instance_id", num(s.instanceId));
    o.uri = s.uri.trim();
    o.bootstrap_server = s.bootstrapServer;
    o.mode = s.mode;
    if (s.mode === "psk") {
      if (s.identity !== "" || !s.generate) o[s.identityHex ? "psk_identity_hex" : "psk_identity"] = s.identityHex ? normHex(s.identity) : s.identity;
      if (s.generate) {
        const g: Obj = {};
        put(g, "psk_key_bytes", num(s.genKeyBytes));
        put(g, "psk_identity_bytes", num(s.genIdentityBytes));
        o.generate = g;
      } else if (s.keyHex !== "") o.psk_key_hex = normHex(s.keyHex);
      else if (s.keySet) o.psk_key = "<set>";
    } else if (s.mode === "rpk" || s.mode === "x509") {
      put(o, "public_key_hex", normHex(s.publicKeyHex));
      if (s.privateKeyHex !== "") o.private_key_hex = normHex(s.privateKeyHex);
      else if (s.privateKeySet) o.private_key = "<set>";
      put(o, "server_public_key_hex", normHex(s.serverPublicKeyHex));
    }
    if (!s.bootstrapServer) put(o, "short_server_id", num(s.shortServerId));
    put(o, "client_hold_off", num(s.clientHoldOff));
    return o;
  });
  c.servers = f.servers.map((s) => {
    const o: Obj = {};
    put(o, "instance_id", num(s.instanceId));
    o.short_server_id = num(s.shortServerId);
    put(o, "lifetime", num(s.lifetime));
    put(o, "binding", s.binding.trim());
    put(o, "default_min_period", num(s.pmin));
    put(o, "default_max_period", num(s.pmax));
    put(o, "disable_timeout", num(s.disableTimeout));
    o.notification_storing = s.notificationStoring;
    return o;
  });
  c.acls = f.acls.map((a) => {
    const o: Obj = {};
    put(o, "instance_id", num(a.instanceId));
    o.object_id = num(a.objectId);
    o.object_instance_id = num(a.objectInstanceId);
    const acl: Obj = {};
    for (const r of a.rights) if (r.ssid.trim() !== "") acl[r.ssid.trim()] = r.bits;
    o.acl = acl;
    o.owner = num(a.owner);
    return o;
  });
  return c;
}

export const KEY_AGAIN = "the stored key is write-only and a replace (PUT) does not keep it: type the key again";

/** Field key -> message for every mistake the form can hold (keys: "endpoint", "delete",
 * "security.0.keyHex", "servers.1.binding", "acls.0.rights.1", ...). The same rules as
 * bootstrapErrors (which mirrors the server's check), said next to the field. */
export function formErrors(f: BootstrapForm): Record<string, string> {
  const e: Record<string, string> = {};
  const int = (k: string, v: string, lo: number, hi: number, what: string, required = false) => {
    const t = v.trim();
    if (t === "") {
      if (required) e[k] = `${what} is required`;
      return undefined;
    }
    if (!uintText.test(t) || Number(t) < lo || Number(t) > hi) {
      e[k] = `${what} must be a whole number from ${lo} to ${hi}`;
      return undefined;
    }
    return Number(t);
  };
  if (f.endpoint.trim() === "") e.endpoint = "endpoint name is required";
  else if (utf8Bytes(f.endpoint.trim()) > 255) e.endpoint = "endpoint name must be at most 255 bytes";
  if (f.deleteMode === "list") {
    const paths = f.deletePaths.split(/[\s,]+/).filter((p) => p.length);
    const bad = paths.find((p) => !/^\/(\d+(\/\d+)?)?$/.test(p));
    if (bad !== undefined) e.delete = `"${bad}" is not /, /object or /object/instance`;
    else if (!paths.length) e.delete = 'give at least one path, or choose "delete nothing"';
  }
  const unique = (list: { instanceId: string }[], what: string) => {
    const seen = new Set<number>();
    list.forEach((r, n) => {
      const id = int(`${what}.${n}.instanceId`, r.instanceId, 0, 65534, "instance id");
      if (id === undefined) return;
      if (seen.has(id)) e[`${what}.${n}.instanceId`] = `instance id ${id} is used twice`;
      seen.add(id);
    });
  };
  unique(f.security, "security");
  unique(f.servers, "servers");
  unique(f.acls, "acls");
  const ssids = new Set<number>();
  f.servers.forEach((s, n) => {
    const at = `servers.${n}`;
    const id = int(`${at}.shortServerId`, s.shortServerId, 1, 65534, "short server id", true);
    if (id !== undefined) {
      if (ssids.has(id)) e[`${at}.shortServerId`] = `short server id ${id} has two server instances`;
      ssids.add(id);
    }
    int(`${at}.lifetime`, s.lifetime, 1, 4294967295, "lifetime");
    if (s.binding.trim() !== "" && !/^[UTSNQ]+$/.test(s.binding.trim())) e[`${at}.binding`] = "binding is letters of U, T, S, N, Q (e.g. U, UQ)";
    const pmin = int(`${at}.pmin`, s.pmin, 0, 4294967295, "default pmin");
    const pmax = int(`${at}.pmax`, s.pmax, 0, 4294967295, "default pmax");
    if (pmin !== undefined && pmax !== undefined && pmax > 0 && pmax < pmin) e[`${at}.pmax`] = "default pmax must not be below default pmin";
    int(`${at}.disableTimeout`, s.disableTimeout, 0, 4294967295, "disable timeout");
  });
  const bsRows = f.security.filter((s) => s.bootstrapServer).length;
  f.security.forEach((s, n) => {
    const at = `security.${n}`;
    const uri = s.uri.trim();
    if (s.bootstrapServer && bsRows > 1) e[`${at}.bootstrapServer`] = "only one security instance can be the bootstrap server's";
    if (uri === "") e[`${at}.uri`] = "server URI is required";
    else if (!/^coaps?(\+tcp)?:\/\/./.test(uri)) e[`${at}.uri`] = "the URI must start with coap:// or coaps://";
    else if (uri.startsWith("coaps") && s.mode === "nosec") e[`${at}.mode`] = "coaps:// needs PSK, RPK or X.509";
    else if (!uri.startsWith("coaps") && s.mode !== "nosec") e[`${at}.mode`] = "coap:// (no DTLS) needs NoSec";
    if (s.mode === "psk") {
      if (!s.generate || s.identity !== "") {
        const i = identityError(s.identity, s.identityHex);
        if (i) e[`${at}.identity`] = i;
      }
      if (s.generate && s.bootstrapServer) e[`${at}.genKeyBytes`] = "the bootstrap-server account cannot have generated credentials: give its key";
      else if (s.generate && !e[`${at}.identity`] && !/^[\x21-\x7e]*$/.test(s.identityHex ? "" : s.identity))
        e[`${at}.identity`] = "the prefix of a generated identity must be printable ASCII (no spaces)";
      else if (s.generate && s.identityHex && s.identity !== "") e[`${at}.identity`] = "the prefix of a generated identity is text, not hex";
      if (s.generate) {
        int(`${at}.genKeyBytes`, s.genKeyBytes, 16, 64, "generated key length");
        const idb = int(`${at}.genIdentityBytes`, s.genIdentityBytes, 16, 128, "generated identity length");
        const prefix = s.identityHex ? normHex(s.identity).length / 2 : utf8Bytes(s.identity);
        if (idb !== undefined && !e[`${at}.identity`] && prefix + 16 > idb)
          e[`${at}.genIdentityBytes`] = `must leave at least 16 random characters after the ${prefix}-byte identity prefix`;
      } else if (s.keyHex === "" && s.keySet) e[`${at}.keyHex`] = KEY_AGAIN;
      else {
        const k = hexError("PSK key", s.keyHex, 1, 64);
        if (k) e[`${at}.keyHex`] = k;
      }
    } else if (s.mode === "rpk" || s.mode === "x509") {
      const what = s.mode === "rpk" ? "public key (SubjectPublicKeyInfo DER)" : "certificate (DER)";
      const p = hexError(what, s.publicKeyHex, 1, 65536);
      if (p) e[`${at}.publicKeyHex`] = p;
      if (s.privateKeyHex === "" && s.privateKeySet) e[`${at}.privateKeyHex`] = KEY_AGAIN;
      else {
        const k = hexError("private key (DER)", s.privateKeyHex, 1, 65536);
        if (k) e[`${at}.privateKeyHex`] = k;
      }
      const sp = hexError("server public key", s.serverPublicKeyHex, 0, 65536);
      if (sp) e[`${at}.serverPublicKeyHex`] = sp;
    }
    if (!s.bootstrapServer) {
      const id = int(`${at}.shortServerId`, s.shortServerId, 1, 65534, "short server id (a DM server account needs one)", true);
      if (id !== undefined && !ssids.has(id)) e[`${at}.shortServerId`] = `short server id ${id} has no server instance: add one below`;
    }
    int(`${at}.clientHoldOff`, s.clientHoldOff, 0, 4294967295, "client hold-off");
  });
  f.acls.forEach((a, n) => {
    const at = `acls.${n}`;
    int(`${at}.objectId`, a.objectId, 0, 65534, "object id", true);
    int(`${at}.objectInstanceId`, a.objectInstanceId, 0, 65535, "object instance id", true);
    int(`${at}.owner`, a.owner, 0, 65535, "owner (short server id)", true);
    const seen = new Set<string>();
    a.rights.forEach((r, i) => {
      const id = int(`${at}.rights.${i}`, r.ssid, 0, 65535, "short server id");
      if (id === undefined) return;
      if (seen.has(String(id))) e[`${at}.rights.${i}`] = `short server id ${id} is listed twice`;
      seen.add(String(id));
    });
  });
  return e;
}

/** All checks of a form: per field, then the whole configuration (bootstrapErrors) for what no
 * single field shows. */
export function checkForm(f: BootstrapForm): { fields: Record<string, string>; general: string[]; config: Obj } {
  const fields = formErrors(f);
  const config = configFromForm(f);
  const general = Object.keys(fields).length ? [] : bootstrapErrors(config);
  return { fields, general, config };
}
