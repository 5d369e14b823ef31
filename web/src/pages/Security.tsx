import { useEffect, useState } from "preact/hooks";
import { api, type SecurityInput, type SecurityPage as Page } from "../api";
import { credentialErrors, normHex, utf8Bytes, type CredentialForm } from "../validate";
import { Pager } from "./Clients";

const LIMIT = 50;
const EMPTY: CredentialForm = { endpoint: "", mode: "psk", identity: "", identityHex: false, keyHex: "", rpkHex: "", commonName: "" };

/** Credentials (PSK, RPK, X.509, NoSec). Keys are write-only: the form sends them, the list
 * shows only "<set>" from the server, and the key field is cleared after every attempt. */
export function SecurityPage() {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page | null>(null);
  const [f, setF] = useState<CredentialForm>(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const load = () =>
    api
      .security({ offset, limit: LIMIT })
      .then(setPage)
      .catch((e) => setMsg({ ok: false, text: e.message }));
  useEffect(() => {
    load();
  }, [offset]);

  const set = (k: keyof CredentialForm) => (e: Event) => {
    const t = e.target as HTMLInputElement;
    setF({ ...f, [k]: t.type === "checkbox" ? t.checked : t.value });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const errs = credentialErrors(f);
    setErrors(errs);
    setMsg(null);
    if (Object.keys(errs).length) return;
    const body: SecurityInput = { endpoint: f.endpoint.trim(), mode: f.mode };
    if (f.mode === "psk") {
      if (f.identityHex) body.psk_identity_hex = normHex(f.identity);
      else body.psk_identity = f.identity;
      body.psk_key_hex = normHex(f.keyHex);
    } else if (f.mode === "rpk") body.rpk_public_key_hex = normHex(f.rpkHex);
    else if (f.mode === "x509") body.x509_common_name = f.commonName.trim();
    setBusy(true);
    try {
      await api.addSecurity(body);
      setMsg({ ok: true, text: `Credentials of ${body.endpoint} added.` });
      setF({ ...EMPTY, mode: f.mode });
      load();
    } catch (x) {
      setMsg({ ok: false, text: (x as Error).message });
      setF((old) => ({ ...old, keyHex: "" }));
    } finally {
      setBusy(false);
    }
  };

  const del = async (ep: string) => {
    if (!confirm(`Delete the credentials of ${ep}? The device can no longer connect with them.`)) return;
    try {
      await api.deleteSecurity(ep);
      setMsg({ ok: true, text: `Credentials of ${ep} deleted.` });
      load();
    } catch (x) {
      setMsg({ ok: false, text: (x as Error).message });
    }
  };

  const field = (k: string) => errors[k] && <div class="error" data-testid={`error-${k}`}>{errors[k]}</div>;
  const keyBytes = normHex(f.keyHex).length / 2;

  return (
    <section>
      <div class="toolbar">
        <h2>Security</h2>
      </div>
      <form class="card" onSubmit={submit} data-testid="security-form" novalidate>
        <h3>Add credentials</h3>
        <label>
          Endpoint
          <input name="endpoint" value={f.endpoint} onInput={set("endpoint")} autoComplete="off" />
        </label>
        {field("endpoint")}
        <label>
          Mode
          <select name="mode" value={f.mode} onChange={set("mode")}>
            <option value="psk">PSK (pre-shared key)</option>
            <option value="rpk">RPK (raw public key)</option>
            <option value="x509">X.509 certificate</option>
            <option value="nosec">NoSec (plain CoAP allowed)</option>
          </select>
        </label>
        {f.mode === "psk" && (
          <>
            <label>
              PSK identity
              <input name="identity" value={f.identity} onInput={set("identity")} autoComplete="off" />
              <span class="muted small">
                {f.identityHex ? `${normHex(f.identity).length / 2} bytes` : `${utf8Bytes(f.identity)} / 128 bytes (UTF-8)`}
              </span>
            </label>
            <label class="inline">
              <input type="checkbox" name="identityHex" checked={f.identityHex} onChange={set("identityHex")} /> identity is hex (binary)
            </label>
            {field("identity")}
            <label>
              PSK key (hex, 1–64 bytes, write-only)
              <input name="key" type="password" value={f.keyHex} onInput={set("keyHex")} autoComplete="new-password" spellcheck={false} />
              <span class="muted small">{Number.isInteger(keyBytes) ? keyBytes : "½"} / 64 bytes</span>
            </label>
            {field("key")}
          </>
        )}
        {f.mode === "rpk" && (
          <>
            <label>
              Public key (SubjectPublicKeyInfo DER, hex)
              <textarea name="rpk" rows={3} value={f.rpkHex} onInput={set("rpkHex")} />
            </label>
            {field("rpk")}
          </>
        )}
        {f.mode === "x509" && (
          <>
            <label>
              Certificate common name
              <input name="cn" value={f.commonName} onInput={set("commonName")} />
            </label>
            {field("cn")}
          </>
        )}
        <button type="submit" disabled={busy}>
          Add
        </button>
        {msg && (
          <p class={msg.ok ? "okmsg" : "error"} data-testid="security-msg">
            {msg.text}
          </p>
        )}
      </form>
      <table class="grid" data-testid="security">
        <thead>
          <tr>
            <th>Endpoint</th>
            <th>Mode</th>
            <th>Identity / key / name</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {page?.items?.map((s) => (
            <tr key={s.endpoint}>
              <td>{s.endpoint}</td>
              <td>{s.mode}</td>
              <td class="wrap">
                {s.mode === "psk" && (
                  <>
                    <div>identity: {s.psk_identity ?? <code>{s.psk_identity_hex}</code>}</div>
                    <div class="muted">key: {s.psk_key === "<set>" ? "set (write-only)" : "not set"}</div>
                  </>
                )}
                {s.mode === "rpk" && <code>{(s.rpk_public_key_hex ?? "").slice(0, 48)}…</code>}
                {s.mode === "x509" && <>CN={s.x509_common_name}</>}
              </td>
              <td>
                <button class="danger" onClick={() => del(s.endpoint ?? "")}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {page && !page.items?.length && (
            <tr>
              <td colSpan={4} class="empty">
                No credentials stored.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager offset={offset} limit={LIMIT} total={page?.total ?? 0} onOffset={setOffset} />
    </section>
  );
}
