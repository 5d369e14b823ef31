import { useEffect, useState } from "preact/hooks";
import { api, type BootstrapConfig, type BootstrapPage as Page, type BootstrapStatus } from "../api";
import { bootstrapErrors } from "../validate";
import { fmtTime } from "../util";
import { Pager } from "./Clients";

const LIMIT = 50;
const TEMPLATE = `{
  "endpoint": "device-1",
  "delete": ["/0", "/1"],
  "security": [
    {"instance_id": 0, "uri": "coaps://127.0.0.1:5784", "bootstrap_server": true,
     "mode": "psk", "psk_identity": "device-1-bs", "psk_key_hex": "000102030405060708090a0b0c0d0e0f"},
    {"instance_id": 1, "uri": "coaps://127.0.0.1:5684", "mode": "psk", "psk_identity": "device-1-",
     "generate": {"psk_key_bytes": 32}, "short_server_id": 101}],
  "servers": [{"instance_id": 0, "short_server_id": 101, "lifetime": 300, "binding": "U"}],
  "acls": [{"object_id": 3, "object_instance_id": 0, "acl": {"101": 7}, "owner": 101}]
}`;

/** Per-endpoint bootstrap configurations and the outcome of each device's last bootstrap.
 * Secrets read back as "<set>" from the server; the editor is cleared after a successful add. */
export function BootstrapPage() {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<Page | null>(null);
  const [status, setStatus] = useState<Map<string, BootstrapStatus>>(new Map());
  const [text, setText] = useState(TEMPLATE);
  const [errors, setErrors] = useState<string[]>([]);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [shown, setShown] = useState<string | null>(null);

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

  const submit = async (e: Event) => {
    e.preventDefault();
    setMsg(null);
    let c: unknown;
    try {
      c = JSON.parse(text);
    } catch (x) {
      return setErrors(["not valid JSON: " + (x as Error).message]);
    }
    const errs = bootstrapErrors(c);
    setErrors(errs);
    if (errs.length) return;
    try {
      await api.addBootstrap(c as BootstrapConfig);
      setMsg({ ok: true, text: `Configuration of ${(c as BootstrapConfig).endpoint} added.` });
      setText(TEMPLATE);
      load();
    } catch (x) {
      setMsg({ ok: false, text: (x as Error).message });
    }
  };

  const del = async (ep: string) => {
    if (!confirm(`Delete the bootstrap configuration of ${ep}?`)) return;
    try {
      await api.deleteBootstrap(ep);
      load();
    } catch (x) {
      setMsg({ ok: false, text: (x as Error).message });
    }
  };

  return (
    <section>
      <div class="toolbar">
        <h2>Bootstrap</h2>
      </div>
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
                  <td>
                    <button onClick={() => setShown(shown === c.endpoint ? null : (c.endpoint ?? null))}>{shown === c.endpoint ? "Hide" : "Show"}</button>
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
      <form class="card" onSubmit={submit} data-testid="bootstrap-form">
        <h3>Add a configuration</h3>
        <p class="muted small">
          Security (Object 0), Server (Object 1) and ACL (Object 2) instances as JSON (docs/rest-api.md). Keys are write-only; "generate" lets the bootstrap server make the DM
          account's PSK at every bootstrap.
        </p>
        <textarea aria-label="configuration" rows={14} spellcheck={false} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
        {errors.length > 0 && (
          <ul class="error" data-testid="bootstrap-errors">
            {errors.map((x) => (
              <li>{x}</li>
            ))}
          </ul>
        )}
        <button type="submit">Add</button>
        {msg && <p class={msg.ok ? "okmsg" : "error"}>{msg.text}</p>}
      </form>
    </section>
  );
}
