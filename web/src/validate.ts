// Form checks done before anything is sent. They mirror the server's own rules
// (store::validate, the bootstrap consistency check; LwM2M TS 1.1 §E.1 Object 0): the server
// checks again, this only gives a clear message early.

export const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

/** Returns an error text or null. Hex: pairs of 0-9a-f, whitespace and ':' ignored. */
export function hexError(label: string, hex: string, min: number, max: number): string | null {
  const h = normHex(hex);
  if (h.length === 0) return min > 0 ? `${label} is required` : null;
  if (!/^[0-9a-fA-F]*$/.test(h)) return `${label} must be hexadecimal (0-9, a-f)`;
  if (h.length % 2 !== 0) return `${label} has an odd number of hex digits`;
  const n = h.length / 2;
  if (n < min || n > max) return `${label} must be ${min} to ${max} bytes (got ${n} bytes)`;
  return null;
}

export const normHex = (s: string) => s.replace(/[\s:]/g, "");

export function identityError(identity: string, isHex: boolean): string | null {
  if (isHex) return hexError("PSK identity", identity, 1, 128);
  if (identity.length === 0) return "PSK identity is required";
  const n = utf8Bytes(identity);
  if (n > 128) return `PSK identity must be at most 128 bytes as UTF-8 (got ${n} bytes)`;
  return null;
}

export interface CredentialForm {
  endpoint: string;
  mode: "psk" | "rpk" | "x509" | "nosec";
  identity: string;
  identityHex: boolean;
  keyHex: string;
  rpkHex: string;
  commonName: string;
}

/** Field -> message for every problem of a credential form. */
export function credentialErrors(f: CredentialForm): Record<string, string> {
  const e: Record<string, string> = {};
  if (f.endpoint.trim().length === 0) e.endpoint = "endpoint name is required";
  else if (utf8Bytes(f.endpoint) > 255) e.endpoint = "endpoint name must be at most 255 bytes";
  if (f.mode === "psk") {
    const i = identityError(f.identity, f.identityHex);
    if (i) e.identity = i;
    const k = hexError("PSK key", f.keyHex, 1, 64);
    if (k) e.key = k;
  } else if (f.mode === "rpk") {
    const r = hexError("public key", f.rpkHex, 1, 4096);
    if (r) e.rpk = r;
  } else if (f.mode === "x509") {
    if (f.commonName.trim().length === 0) e.cn = "certificate common name is required";
  }
  return e;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown, lo: number, hi: number) => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;

/** The bootstrap configuration rules of docs/rest-api.md, checked on the parsed JSON. */
export function bootstrapErrors(c: unknown): string[] {
  const out: string[] = [];
  if (!isObj(c)) return ["the configuration must be a JSON object"];
  if (typeof c.endpoint !== "string" || c.endpoint.length === 0) out.push("endpoint is required");
  const sec = c.security ?? [];
  const srv = c.servers ?? [];
  const acls = c.acls ?? [];
  if (!Array.isArray(sec) || !Array.isArray(srv) || !Array.isArray(acls)) return [...out, "security, servers and acls must be arrays"];
  if (c.delete !== undefined) {
    if (!Array.isArray(c.delete)) out.push("delete must be an array of paths");
    else for (const p of c.delete) if (typeof p !== "string" || !/^\/(\d+(\/\d+)?)?$/.test(p)) out.push(`delete path ${JSON.stringify(p)} must be /, /o or /o/i`);
  }
  const unique = (what: string, list: unknown[]) => {
    const seen = new Set<number>();
    list.forEach((x, n) => {
      if (!isObj(x) || x.instance_id === undefined) return;
      const id = x.instance_id;
      if (!isInt(id, 0, 65534)) out.push(`${what}[${n}].instance_id must be 0..65534`);
      else if (seen.has(id as number)) out.push(`${what}: instance id ${id} is used twice`);
      else seen.add(id as number);
    });
  };
  unique("security", sec);
  unique("servers", srv);
  unique("acls", acls);
  const ssids = new Set<number>();
  srv.forEach((s, n) => {
    if (!isObj(s) || !isInt(s.short_server_id, 1, 65534)) out.push(`servers[${n}].short_server_id must be 1..65534`);
    else if (ssids.has(s.short_server_id as number)) out.push(`servers: short_server_id ${s.short_server_id} has two server instances`);
    else ssids.add(s.short_server_id as number);
    if (isObj(s) && s.lifetime !== undefined && !isInt(s.lifetime, 1, 2 ** 32 - 1)) out.push(`servers[${n}].lifetime must be a positive integer`);
    for (const k of ["default_min_period", "default_max_period", "disable_timeout"])
      if (isObj(s) && s[k] !== undefined && !isInt(s[k], 0, 2 ** 32 - 1)) out.push(`servers[${n}].${k} must be a whole number of seconds`);
    if (isObj(s) && s.binding !== undefined && !(typeof s.binding === "string" && /^[UTSNQ]+$/.test(s.binding))) out.push(`servers[${n}].binding must be letters of UTSNQ`);
  });
  if (sec.filter((s) => isObj(s) && s.bootstrap_server === true).length > 1) out.push("security: more than one bootstrap_server instance");
  sec.forEach((s, n) => {
    const at = `security[${n}]`;
    if (!isObj(s)) return void out.push(`${at} must be an object`);
    const uri = typeof s.uri === "string" ? s.uri : "";
    const mode = (s.mode as string | undefined) ?? "nosec";
    if (!/^coaps?(\+tcp)?:\/\//.test(uri)) out.push(`${at}.uri must start with coap:// or coaps://`);
    const secure = uri.startsWith("coaps");
    if (secure && mode === "nosec") out.push(`${at}: coaps:// needs psk, rpk or x509`);
    if (!secure && uri && mode !== "nosec") out.push(`${at}: coap:// needs mode nosec`);
    const keyAgain = "is write-only and a replace (PUT) does not keep it: give it again";
    if (s.psk_key === "<set>" && s.psk_key_hex === undefined && s.generate === undefined) out.push(`${at}: the stored psk_key ${keyAgain} as psk_key_hex`);
    if (s.private_key === "<set>" && s.private_key_hex === undefined) out.push(`${at}: the stored private_key ${keyAgain} as private_key_hex`);
    const hasId = typeof s.psk_identity === "string" || typeof s.psk_identity_hex === "string";
    const hasPki = s.public_key_hex !== undefined || s.private_key_hex !== undefined;
    if (typeof s.psk_identity === "string" && typeof s.psk_identity_hex === "string") out.push(`${at}: give psk_identity or psk_identity_hex, not both`);
    if (mode === "psk") {
      const gen = isObj(s.generate);
      if (hasPki) out.push(`${at}: psk mode takes no public/private keys`);
      if (!hasId && !gen) out.push(`${at}: psk needs psk_identity or psk_identity_hex`);
      else if (typeof s.psk_identity_hex === "string") {
        const e = hexError(`${at}.psk_identity_hex`, s.psk_identity_hex, gen ? 0 : 1, 128);
        if (e) out.push(e);
      } else if (typeof s.psk_identity === "string" && utf8Bytes(s.psk_identity) > 128) out.push(`${at}.psk_identity must be at most 128 bytes as UTF-8`);
      if (typeof s.psk_key_hex === "string") {
        const e = hexError(`${at}.psk_key_hex`, s.psk_key_hex, 1, 64);
        if (e) out.push(e);
        if (gen) out.push(`${at}: give psk_key_hex or generate, not both`);
      } else if (!gen && s.psk_key !== "<set>") out.push(`${at}: psk needs psk_key_hex or generate`);
      if (isObj(s.generate)) {
        const g = s.generate;
        if (s.bootstrap_server === true) out.push(`${at}: the bootstrap-server account cannot have generated credentials`);
        if (typeof s.psk_identity_hex === "string" || (typeof s.psk_identity === "string" && !/^[\x21-\x7e]*$/.test(s.psk_identity)))
          out.push(`${at}.psk_identity: the prefix of a generated identity must be printable ASCII`);
        if (g.psk_key_bytes !== undefined && !isInt(g.psk_key_bytes, 16, 64)) out.push(`${at}.generate.psk_key_bytes must be 16..64`);
        if (g.psk_identity_bytes !== undefined && !isInt(g.psk_identity_bytes, 16, 128)) out.push(`${at}.generate.psk_identity_bytes must be 16..128`);
        const prefix = typeof s.psk_identity === "string" ? utf8Bytes(s.psk_identity) : typeof s.psk_identity_hex === "string" ? normHex(s.psk_identity_hex).length / 2 : 0;
        const idBytes = isInt(g.psk_identity_bytes, 16, 128) ? (g.psk_identity_bytes as number) : 32;
        if (prefix + 16 > idBytes) out.push(`${at}.generate.psk_identity_bytes (${idBytes}) must leave at least 16 random characters after the ${prefix}-byte psk_identity`);
      } else if (s.generate !== undefined) out.push(`${at}.generate must be an object`);
    } else if (mode === "rpk" || mode === "x509") {
      if (hasId || s.psk_key_hex !== undefined || s.generate !== undefined) out.push(`${at}: ${mode} takes no psk fields`);
      if (typeof s.public_key_hex !== "string" || (typeof s.private_key_hex !== "string" && s.private_key !== "<set>")) out.push(`${at}: ${mode} needs public_key_hex and private_key_hex`);
      for (const k of ["public_key_hex", "private_key_hex", "server_public_key_hex"])
        if (typeof s[k] === "string") {
          const e = hexError(`${at}.${k}`, s[k] as string, 0, 65536);
          if (e) out.push(e);
        }
    } else if (mode === "nosec") {
      if (hasId || hasPki || s.psk_key_hex !== undefined || s.generate !== undefined || s.server_public_key_hex !== undefined) out.push(`${at}: nosec takes no credentials`);
    } else out.push(`${at}.mode must be psk, rpk, x509 or nosec`);
    if (s.client_hold_off !== undefined && !isInt(s.client_hold_off, 0, 2 ** 32 - 1)) out.push(`${at}.client_hold_off must be a whole number of seconds`);
    if (!s.bootstrap_server) {
      if (!isInt(s.short_server_id, 1, 65534)) out.push(`${at}: a DM server account needs short_server_id`);
      else if (!ssids.has(s.short_server_id as number)) out.push(`${at}: short_server_id ${s.short_server_id} has no server instance`);
    }
  });
  acls.forEach((a, n) => {
    const at = `acls[${n}]`;
    if (!isObj(a)) return void out.push(`${at} must be an object`);
    if (!isInt(a.object_id, 0, 65534) || !isInt(a.object_instance_id, 0, 65535)) out.push(`${at}: object_id and object_instance_id are required`);
    if (!isInt(a.owner, 0, 65535)) out.push(`${at}.owner is required`);
    if (a.acl !== undefined) {
      if (!isObj(a.acl)) out.push(`${at}.acl must map short server ids to rights`);
      else for (const [k, v] of Object.entries(a.acl)) if (!isInt(v, 0, 31)) out.push(`${at}.acl[${k}] rights must be 0..31`);
    }
  });
  return out;
}

const hexToBase64 = (hex: string) => {
  const h = normHex(hex);
  let s = "";
  for (let i = 0; i < h.length; i += 2) s += String.fromCharCode(parseInt(h.slice(i, i + 2), 16));
  return btoa(s);
};

/** Parses the text of a typed input into the API's JSON value (docs/rest-api.md types). */
export function parseValue(type: string | undefined, text: string, opaqueAs: "hex" | "base64" = "hex"): { value?: unknown; error?: string } {
  const t = text.trim();
  switch (type) {
    case "integer":
    case "time":
      if (!/^-?\d+$/.test(t)) return { error: type === "time" ? "a time is whole Unix seconds" : "an integer is required" };
      return { value: Number(t) };
    case "unsigned":
      if (!/^\d+$/.test(t)) return { error: "a non-negative integer is required" };
      return { value: Number(t) };
    case "float":
      if (t === "" || Number.isNaN(Number(t))) return { error: "a number is required" };
      return { value: Number(t) };
    case "boolean":
      if (t !== "true" && t !== "false") return { error: "true or false" };
      return { value: t === "true" };
    case "opaque":
      if (opaqueAs === "hex") {
        const e = hexError("value", t, 0, 1 << 22);
        return e ? { error: e } : { value: hexToBase64(t) };
      }
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 !== 0) return { error: "padded base64 (RFC 4648 §4) is required" };
      return { value: t };
    case "objlnk":
      if (!/^\d+:\d+$/.test(t)) return { error: 'an object link is "oid:iid"' };
      return { value: t };
    case "none":
      return { value: null };
    default:
      return { value: text };
  }
}

