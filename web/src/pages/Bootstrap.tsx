import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, type BootstrapConfig, type BootstrapPage as Page, type BootstrapStatus } from "../api";
import { bootstrapErrors, normHex, utf8Bytes } from "../validate";
import {
  checkForm,
  configFromForm,
  emptyForm,
  formFromConfig,
  newAcl,
  newSecurity,
  newServer,
  RIGHTS,
  type AclRow,
  type BootstrapForm,
  type SecurityRow,
  type ServerRow,
} from "../bootstrapForm";
import { fmtTime } from "../util";
import { Pager } from "./Clients";

const LIMIT = 50;

/** Per-endpoint bootstrap configurations and the outcome of each device's last bootstrap; a
 * configuration is added or replaced through a form (or its JSON). Secrets read back as "<set>"
 * from the server and a replace (PUT) needs them again: the form says so at the key fields. */
export function BootstrapPage() {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page | null>(null);
  const [status, setStatus] = useState<Map<string, BootstrapStatus>>(new Map());
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [shown, setShown] = useState<string | null>(null);
  // the editor: a new configuration, or a stored one to replace (key: remounts on change)
  const [editor, setEditor] = useState<{ key: number; form: BootstrapForm; replace: boolean }>({ key: 0, form: emptyForm(), replace: false });

  const load = async () => {
    try {
      const p = await api.bootstraps({ offset, limit: LIMIT });
      setPage(p);
      const st = await Promise.all((p.items ?? []).map((c) => api.bootstrapStatus(c.endpoint ?? "").catch(() => null)));
      setStatus(new Map(st.filter((s): s is BootstrapStatus => !!s).map((s) => [s.endpoint ?? "", s])));
    } catch (e) {
      setMsg({ ok: false, text: (e as Error).message });
    }
  };
  useEffect(() => {
    load();
  }, [offset]);

  const del = async (ep: string) => {
    if (!confirm(`Delete the bootstrap configuration of ${ep}?`)) return;
    try {
      await api.deleteBootstrap(ep);
      load();
    } catch (x) {
      setMsg({ ok: false, text: (x as Error).message });
    }
  };
  const edit = (c: BootstrapConfig) => {
    setEditor({ key: editor.key + 1, form: formFromConfig(c), replace: true });
    setMsg(null);
    setTimeout(() => document.querySelector('[data-testid="bootstrap-form"]')?.scrollIntoView(), 0);
  };
  const fresh = () => setEditor({ key: editor.key + 1, form: emptyForm(), replace: false });

  return (
    <section>
      <div class="toolbar">
        <h2>Bootstrap</h2>
        <button onClick={() => (fresh(), setMsg(null))}>New configuration</button>
      </div>
      {msg && (
        <p class={msg.ok ? "okmsg" : "error"} data-testid="bootstrap-msg">
          {msg.text}
        </p>
      )}
      <table class="grid" data-testid="bootstrap">
        <thead>
          <tr>
            <th>Endpoint</th>
            <th>Security</th>
            <th>Servers</th>
            <th>ACLs</th>
            <th>Last bootstrap</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {page?.items?.map((c) => {
            const s = status.get(c.endpoint ?? "");
            return (
              <>
                <tr key={c.endpoint}>
                  <td>{c.endpoint}</td>
                  <td>{(c.security ?? []).map((x) => `${x.bootstrap_server ? "BS" : "DM " + (x.short_server_id ?? "")} ${x.mode ?? "nosec"} ${x.uri}`).join("; ")}</td>
                  <td>{(c.servers ?? []).map((x) => `${x.short_server_id} (${x.lifetime ?? 86400} s, ${x.binding ?? "U"})`).join("; ")}</td>
                  <td>{(c.acls ?? []).length}</td>
                  <td class={s?.state === "failed" ? "bad" : s?.state === "finished" ? "ok" : ""}>
                    {s?.state ?? "—"}
                    {s?.finished_at ? ` ${fmtTime(s.finished_at)}` : s?.started_at ? ` ${fmtTime(s.started_at)}` : ""}
                    {s?.detail ? <div class="muted small">{s.detail}</div> : null}
                  </td>
                  <td class="nowrap">
                    <button onClick={() => setShown(shown === c.endpoint ? null : (c.endpoint ?? null))}>{shown === c.endpoint ? "Hide" : "Show"}</button>
                    <button onClick={() => edit(c)}>Edit</button>
                    <button class="danger" onClick={() => del(c.endpoint ?? "")}>
                      Delete
                    </button>
                  </td>
                </tr>
                {shown === c.endpoint && (
                  <tr>
                    <td colSpan={6}>
                      <pre class="body">{JSON.stringify(c, null, 2)}</pre>
                    </td>
                  </tr>
                )}
              </>
            );
          })}
          {page && !page.items?.length && (
            <tr>
              <td colSpan={6} class="empty">
                No bootstrap configuration stored.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager offset={offset} limit={LIMIT} total={page?.total ?? 0} onOffset={setOffset} />
      <BootstrapEditor
        key={editor.key}
        initial={editor.form}
        replace={editor.replace}
        onSaved={(text) => {
          setMsg({ ok: true, text });
          fresh();
          load();
        }}
        onCancel={editor.replace ? fresh : undefined}
      />
    </section>
  );
}

type Errors = Record<string, string>;

function BootstrapEditor(props: { initial: BootstrapForm; replace: boolean; onSaved: (msg: string) => void; onCancel?: () => void }) {
  const [f, setF] = useState<BootstrapForm>(props.initial);
  const [asJson, setAsJson] = useState(false);
  const [text, setText] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const upd = (fn: (g: BootstrapForm) => void) => {
    const g = structuredClone(f);
    fn(g);
    setF(g);
  };
  const toggleJson = () => {
    setFailure(null);
    if (!asJson) {
      setText(JSON.stringify(configFromForm(f), null, 2));
      setGeneral([]);
      setAsJson(true);
      return;
    }
    try {
      const g = formFromConfig(JSON.parse(text));
      if (props.replace) g.endpoint = f.endpoint; // the path names the configuration
      setF(g);
      setErrors({});
      setGeneral([]);
      setAsJson(false);
    } catch (x) {
      setGeneral(["not valid JSON: " + (x as Error).message]);
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setFailure(null);
    let config: unknown;
    if (asJson) {
      try {
        config = JSON.parse(text);
      } catch (x) {
        return setGeneral(["not valid JSON: " + (x as Error).message]);
      }
      const errs = bootstrapErrors(config);
      setGeneral(errs);
      if (errs.length) return;
    } else {
      const r = checkForm(f);
      setErrors(r.fields);
      setGeneral(r.general);
      if (Object.keys(r.fields).length || r.general.length) return;
      config = r.config;
    }
    const c = config as BootstrapConfig;
    setBusy(true);
    try {
      if (props.replace) await api.replaceBootstrap(f.endpoint, c);
      else await api.addBootstrap(c);
      props.onSaved(`Configuration of ${c.endpoint ?? f.endpoint} ${props.replace ? "replaced" : "added"}.`);
    } catch (x) {
      setFailure((x as Error).message);
      // as on the Security page: typed keys do not outlive a refused attempt
      if (!asJson) upd((g) => g.security.forEach((r) => ((r.keyHex = ""), (r.privateKeyHex = ""))));
    } finally {
      setBusy(false);
    }
  };

  const err = (k: string) =>
    errors[k] && (
      <div class="error small" data-testid={`error-${k}`}>
        {errors[k]}
      </div>
    );
  const text_ = (k: string, label: string, value: string, onInput: (v: string) => void, o: FieldOpts = {}) => (
    <label class={o.wide ? "field wide" : "field"}>
      {label}
      <input
        name={k}
        type={(o.type ?? "text") as "text" /* one of text, number, password */}
        value={value}
        placeholder={o.placeholder}
        autoComplete={o.type === "password" ? "new-password" : "off"}
        spellcheck={false}
        onInput={(e) => onInput((e.target as HTMLInputElement).value)}
      />
      {o.hint && <span class="muted small">{o.hint}</span>}
      {err(k)}
    </label>
  );
  const check = (k: string, label: string, checked: boolean, on: (v: boolean) => void) => (
    <label class="inline">
      <input type="checkbox" name={k} checked={checked} onChange={(e) => on((e.target as HTMLInputElement).checked)} /> {label}
    </label>
  );

  return (
    <form class="card wide" onSubmit={submit} data-testid="bootstrap-form" novalidate>
      <div class="toolbar">
        <h3>{props.replace ? `Replace the configuration of ${f.endpoint}` : "Add a configuration"}</h3>
        <button type="button" data-testid="json-toggle" onClick={toggleJson}>
          {asJson ? "Edit as form" : "Edit as JSON"}
        </button>
      </div>
      <p class="muted small">
        What the bootstrap server writes into the device: Bootstrap-Delete, then Security (Object 0), Server (Object 1) and ACL (Object 2) instances (docs/rest-api.md). Keys are
        write-only{props.replace ? "; a replace needs every stored key again (the server never gives them back)" : ""}.
      </p>
      {asJson ? (
        <textarea aria-label="configuration" name="json" rows={18} spellcheck={false} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      ) : (
        <>
          <div class="fields">
            {props.replace ? (
              <label class="field">
                Endpoint
                <input name="endpoint" value={f.endpoint} readOnly />
              </label>
            ) : (
              text_("endpoint", "Endpoint", f.endpoint, (v) => upd((g) => void (g.endpoint = v)))
            )}
            <label class="field">
              Format
              <select name="format" value={f.format} onChange={(e) => upd((g) => void (g.format = (e.target as HTMLSelectElement).value))}>
                <option value="">server default</option>
                <option value="tlv">TLV</option>
                <option value="senml-json">SenML JSON</option>
                <option value="senml-cbor">SenML CBOR</option>
                <option value="lwm2m-cbor">LwM2M CBOR</option>
              </select>
            </label>
          </div>
          <fieldset class="rowset">
            <legend>Bootstrap-Delete first</legend>
            <div class="fields">
              {(
                [
                  ["default", 'everything ("/", the default)'],
                  ["none", "nothing"],
                  ["list", "these paths:"],
                ] as const
              ).map(([m, label]) => (
                <label class="inline">
                  <input type="radio" name="deleteMode" value={m} checked={f.deleteMode === m} onChange={() => upd((g) => void (g.deleteMode = m))} /> {label}
                </label>
              ))}
              {f.deleteMode === "list" && text_("delete", "", f.deletePaths, (v) => upd((g) => void (g.deletePaths = v)), { placeholder: "/0, /1, /2/3" })}
            </div>
            {f.deleteMode !== "list" && err("delete")}
          </fieldset>
          <h4>Security instances (Object 0)</h4>
          {f.security.map((s, n) => (
            <SecurityFieldset key={n} n={n} s={s} upd={(fn) => upd((g) => fn(g.security[n]))} remove={() => upd((g) => void g.security.splice(n, 1))} text_={text_} check={check} err={err} replace={props.replace} />
          ))}
          <div>
            <button type="button" data-testid="add-security" onClick={() => upd((g) => void g.security.push(newSecurity(nextId(g.security), g.security.length === 0)))}>
              + Security instance
            </button>
          </div>
          <h4>Server instances (Object 1)</h4>
          {f.servers.map((s, n) => (
            <ServerFieldset key={n} n={n} s={s} upd={(fn) => upd((g) => fn(g.servers[n]))} remove={() => upd((g) => void g.servers.splice(n, 1))} text_={text_} check={check} />
          ))}
          <div>
            <button type="button" data-testid="add-server" onClick={() => upd((g) => void g.servers.push(newServer(nextId(g.servers))))}>
              + Server instance
            </button>
          </div>
          <h4>Access control (Object 2)</h4>
          {f.acls.map((a, n) => (
            <AclFieldset key={n} n={n} a={a} upd={(fn) => upd((g) => fn(g.acls[n]))} remove={() => upd((g) => void g.acls.splice(n, 1))} text_={text_} err={err} />
          ))}
          <div>
            <button type="button" data-testid="add-acl" onClick={() => upd((g) => void g.acls.push(newAcl(nextId(g.acls))))}>
              + ACL instance
            </button>
          </div>
        </>
      )}
      {general.length > 0 && (
        <ul class="error" data-testid="bootstrap-errors">
          {general.map((x) => (
            <li>{x}</li>
          ))}
        </ul>
      )}
      {Object.keys(errors).length > 0 && !asJson && (
        <p class="error" data-testid="bootstrap-field-errors">
          {Object.keys(errors).length === 1 ? "One field needs attention" : `${Object.keys(errors).length} fields need attention`} (marked above); nothing was sent.
        </p>
      )}
      <div class="inline">
        <button type="submit" disabled={busy}>
          {props.replace ? "Replace" : "Add"}
        </button>
        {props.onCancel && (
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
      {failure && (
        <p class="error" data-testid="bootstrap-failure">
          {failure}
        </p>
      )}
    </form>
  );
}

const nextId = (rows: { instanceId: string }[]) => rows.reduce((m, r) => Math.max(m, /^\d+$/.test(r.instanceId) ? Number(r.instanceId) + 1 : m), 0);

type FieldOpts = { wide?: boolean; type?: "text" | "number" | "password"; hint?: string; placeholder?: string };
type TextField = (k: string, label: string, value: string, onInput: (v: string) => void, o?: FieldOpts) => JSX.Element;
type CheckField = (k: string, label: string, checked: boolean, on: (v: boolean) => void) => JSX.Element;
type ErrField = (k: string) => JSX.Element | "" | undefined;

function SecurityFieldset(p: { n: number; s: SecurityRow; upd: (fn: (s: SecurityRow) => void) => void; remove: () => void; text_: TextField; check: CheckField; err: ErrField; replace: boolean }) {
  const { n, s, upd, text_, check, err } = p;
  const k = (f: string) => `security.${n}.${f}`;
  const keyBytes = normHex(s.keyHex).length / 2;
  const again = "stored (write-only): type it again, a replace does not keep it";
  return (
    <fieldset class="rowset" data-testid={`security-${n}`}>
      <legend>
        Security instance {s.instanceId || "(auto)"} {s.bootstrapServer ? "— bootstrap server" : "— DM server account"}
      </legend>
      <div class="fields">
        {text_(k("instanceId"), "Instance id", s.instanceId, (v) => upd((x) => void (x.instanceId = v)), { type: "number" })}
        {text_(k("uri"), "Server URI", s.uri, (v) => upd((x) => void (x.uri = v)), {
          wide: true,
          placeholder: "coaps://dm.example.com:5684",
          hint: s.bootstrapServer ? "how the device authenticates to this bootstrap server; the device is given the server's own URI" : undefined,
        })}
        <label class="field">
          Mode
          <select name={k("mode")} value={s.mode} onChange={(e) => upd((x) => void (x.mode = (e.target as HTMLSelectElement).value as SecurityRow["mode"]))}>
            <option value="psk">PSK</option>
            <option value="rpk">RPK</option>
            <option value="x509">X.509</option>
            <option value="nosec">NoSec</option>
          </select>
          {err(k("mode"))}
        </label>
        {check(k("bootstrapServer"), "bootstrap server", s.bootstrapServer, (v) => upd((x) => void ((x.bootstrapServer = v), v && (x.generate = false))))}
        {err(k("bootstrapServer"))}
        {!s.bootstrapServer && text_(k("shortServerId"), "Short server id", s.shortServerId, (v) => upd((x) => void (x.shortServerId = v)), { type: "number" })}
        {text_(k("clientHoldOff"), "Client hold-off (s)", s.clientHoldOff, (v) => upd((x) => void (x.clientHoldOff = v)), { type: "number", placeholder: "default" })}
        <button type="button" class="danger" onClick={p.remove}>
          Remove
        </button>
      </div>
      {s.mode === "psk" && (
        <div class="fields">
          {text_(k("identity"), s.generate ? "PSK identity prefix (optional)" : "PSK identity", s.identity, (v) => upd((x) => void (x.identity = v)), {
            wide: true,
            hint: s.identityHex ? `${normHex(s.identity).length / 2} bytes (hex)` : `${utf8Bytes(s.identity)} / 128 bytes (UTF-8)`,
          })}
          {check(k("identityHex"), "identity is hex", s.identityHex, (v) => upd((x) => void (x.identityHex = v)))}
          <label class="inline">
            <input type="radio" name={k("keySource")} checked={!s.generate} onChange={() => upd((x) => void (x.generate = false))} /> key
          </label>
          {!s.bootstrapServer && (
            <label class="inline">
              <input type="radio" name={k("keySource")} value="generate" checked={s.generate} onChange={() => upd((x) => void (x.generate = true))} /> generate at every bootstrap
            </label>
          )}
          {s.generate ? (
            <>
              {text_(k("genKeyBytes"), "Key bytes (16–64)", s.genKeyBytes, (v) => upd((x) => void (x.genKeyBytes = v)), { type: "number" })}
              {text_(k("genIdentityBytes"), "Identity bytes (16–128)", s.genIdentityBytes, (v) => upd((x) => void (x.genIdentityBytes = v)), { type: "number" })}
            </>
          ) : (
            text_(k("keyHex"), "PSK key (hex, 1–64 bytes, write-only)", s.keyHex, (v) => upd((x) => void (x.keyHex = v)), {
              type: "password",
              wide: true,
              hint: s.keySet && s.keyHex === "" ? `a key is ${again}` : `${Number.isInteger(keyBytes) ? keyBytes : "½"} / 64 bytes`,
            })
          )}
        </div>
      )}
      {(s.mode === "rpk" || s.mode === "x509") && (
        <div class="fields">
          {text_(k("publicKeyHex"), s.mode === "rpk" ? "Public key (SubjectPublicKeyInfo DER, hex)" : "Certificate (DER, hex)", s.publicKeyHex, (v) => upd((x) => void (x.publicKeyHex = v)), { wide: true })}
          {text_(k("privateKeyHex"), "Private key (DER, hex, write-only)", s.privateKeyHex, (v) => upd((x) => void (x.privateKeyHex = v)), {
            type: "password",
            wide: true,
            hint: s.privateKeySet && s.privateKeyHex === "" ? `a private key is ${again}` : undefined,
          })}
          {text_(k("serverPublicKeyHex"), s.mode === "rpk" ? "Server public key (hex, optional)" : "Server certificate (hex, optional)", s.serverPublicKeyHex, (v) => upd((x) => void (x.serverPublicKeyHex = v)), { wide: true })}
        </div>
      )}
    </fieldset>
  );
}

function ServerFieldset(p: { n: number; s: ServerRow; upd: (fn: (s: ServerRow) => void) => void; remove: () => void; text_: TextField; check: CheckField }) {
  const { n, s, upd, text_, check } = p;
  const k = (f: string) => `servers.${n}.${f}`;
  return (
    <fieldset class="rowset" data-testid={`server-${n}`}>
      <legend>Server instance {s.instanceId || "(auto)"}</legend>
      <div class="fields">
        {text_(k("instanceId"), "Instance id", s.instanceId, (v) => upd((x) => void (x.instanceId = v)), { type: "number" })}
        {text_(k("shortServerId"), "Short server id", s.shortServerId, (v) => upd((x) => void (x.shortServerId = v)), { type: "number" })}
        {text_(k("lifetime"), "Lifetime (s)", s.lifetime, (v) => upd((x) => void (x.lifetime = v)), { type: "number", placeholder: "86400" })}
        {text_(k("binding"), "Binding", s.binding, (v) => upd((x) => void (x.binding = v)), { placeholder: "U" })}
        {text_(k("pmin"), "Default pmin (s)", s.pmin, (v) => upd((x) => void (x.pmin = v)), { type: "number" })}
        {text_(k("pmax"), "Default pmax (s)", s.pmax, (v) => upd((x) => void (x.pmax = v)), { type: "number" })}
        {text_(k("disableTimeout"), "Disable timeout (s)", s.disableTimeout, (v) => upd((x) => void (x.disableTimeout = v)), { type: "number" })}
        {check(k("notificationStoring"), "store notifications while offline", s.notificationStoring, (v) => upd((x) => void (x.notificationStoring = v)))}
        <button type="button" class="danger" onClick={p.remove}>
          Remove
        </button>
      </div>
    </fieldset>
  );
}

function AclFieldset(p: { n: number; a: AclRow; upd: (fn: (a: AclRow) => void) => void; remove: () => void; text_: TextField; err: ErrField }) {
  const { n, a, upd, text_, err } = p;
  const k = (f: string) => `acls.${n}.${f}`;
  return (
    <fieldset class="rowset" data-testid={`acl-${n}`}>
      <legend>ACL instance {a.instanceId || "(auto)"}</legend>
      <div class="fields">
        {text_(k("instanceId"), "Instance id", a.instanceId, (v) => upd((x) => void (x.instanceId = v)), { type: "number" })}
        {text_(k("objectId"), "Object id", a.objectId, (v) => upd((x) => void (x.objectId = v)), { type: "number" })}
        {text_(k("objectInstanceId"), "Object instance id", a.objectInstanceId, (v) => upd((x) => void (x.objectInstanceId = v)), { type: "number" })}
        {text_(k("owner"), "Owner (short server id)", a.owner, (v) => upd((x) => void (x.owner = v)), { type: "number" })}
        <button type="button" class="danger" onClick={p.remove}>
          Remove
        </button>
      </div>
      <table class="rights">
        <thead>
          <tr>
            <th>Short server id</th>
            {RIGHTS.map(([r]) => (
              <th title={{ R: "Read", W: "Write", E: "Execute", D: "Delete", C: "Create" }[r]}>{r}</th>
            ))}
            <th></th>
          </tr>
        </thead>
        <tbody>
          {a.rights.map((r, i) => (
            <tr>
              <td>
                <input
                  name={k(`rights.${i}`)}
                  type="number"
                  aria-label="short server id"
                  value={r.ssid}
                  onInput={(e) => upd((x) => void (x.rights[i].ssid = (e.target as HTMLInputElement).value))}
                />
                {err(k(`rights.${i}`))}
              </td>
              {RIGHTS.map(([name, bit]) => (
                <td>
                  <input
                    type="checkbox"
                    name={k(`rights.${i}.${name}`)}
                    aria-label={name}
                    checked={(r.bits & bit) !== 0}
                    onChange={(e) => upd((x) => void (x.rights[i].bits = (e.target as HTMLInputElement).checked ? x.rights[i].bits | bit : x.rights[i].bits & ~bit))}
                  />
                </td>
              ))}
              <td>
                <button type="button" class="link" onClick={() => upd((x) => void x.rights.splice(i, 1))}>
                  remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div>
        <button type="button" class="link" onClick={() => upd((x) => void x.rights.push({ ssid: "", bits: 1 }))}>
          + rights of another server
        </button>
      </div>
    </fieldset>
  );
}
