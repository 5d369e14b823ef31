import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  api,
  compositeOp,
  deviceOp,
  FORMATS,
  modelOf,
  type ApiEvent,
  type Client,
  type DeviceOp,
  type Format,
  type HistoryEvent,
  type Model,
  type ModelResource,
  type ObjectLink,
  type OpAnswer,
} from "../api";
import { subscribe } from "../events";
import { ago, fmtMsDateTime, fmtMsTime, fmtTime } from "../util";
import { AttributesForm, ExecuteForm, WriteForm } from "./forms";

type Json = Record<string, unknown>;
type Shown = { text: string; at: number };

/** Flattens a content node (docs/rest-api.md "Values and content") into path -> text. */
function flatten(base: string, node: Json | undefined, out: Map<string, string>) {
  if (!node) return;
  const path = (node.path as string | undefined) ?? base;
  const kind = node.kind as string | undefined;
  const show = (v: unknown) => (v === null ? "null" : typeof v === "string" ? v : JSON.stringify(v));
  if (Array.isArray(node.instances) && (kind === "object" || (kind === undefined && node.resources === undefined && typeof node.instances[0] === "object"))) {
    for (const i of node.instances as Json[]) flatten(`${path}/${i.id}`, i, out);
  } else if (Array.isArray(node.resources)) {
    for (const r of node.resources as Json[]) flatten(`${path}/${r.id}`, r, out);
  } else if (node.instances && typeof node.instances === "object") {
    const inst = node.instances as Record<string, unknown>;
    out.set(path, Object.entries(inst).map(([k, v]) => `[${k}] ${show(v)}`).join(", ") || "(no instances)");
    for (const [k, v] of Object.entries(inst)) out.set(`${path}/${k}`, show(v));
  } else if ("value" in node) {
    out.set(path, show(node.value));
  }
}

function recordsToMap(records: Json[] | undefined, out: Map<string, string>) {
  for (const r of records ?? []) out.set(r.path as string, r.value === null ? "null" : typeof r.value === "string" ? r.value : JSON.stringify(r.value));
}

interface Tree {
  oid: number;
  link?: ObjectLink;
  instances: { iid: number; link: ObjectLink }[];
}

function buildTree(links: ObjectLink[]): Tree[] {
  const m = new Map<number, Tree>();
  for (const l of links) {
    const p = (l.path ?? "").split("/").filter(Boolean).map(Number);
    if (p.length === 0 || p.some(Number.isNaN)) continue;
    const t = m.get(p[0]) ?? { oid: p[0], instances: [] };
    if (p.length === 1) t.link = l;
    else t.instances.push({ iid: p[1], link: l });
    m.set(p[0], t);
  }
  return [...m.values()].sort((a, b) => a.oid - b.oid);
}

const codeClass = (code?: string) => (!code ? "" : code.startsWith("2.") ? "ok" : "bad");

export function ClientPage({ ep }: { ep: string }) {
  const [client, setClient] = useState<Client | null>(null);
  const [gone, setGone] = useState(false);
  const [links, setLinks] = useState<ObjectLink[]>([]);
  const [models, setModels] = useState<Map<number, Model | null>>(new Map());
  const [format, setFormat] = useState<Format>("");
  const [values, setValues] = useState<Map<string, Shown>>(new Map());
  const [history, setHistory] = useState<Map<string, Shown[]>>(new Map());
  const [observed, setObserved] = useState<Set<string>>(new Set());
  const [answers, setAnswers] = useState<OpAnswer[]>([]);
  const [events, setEvents] = useState<ApiEvent[]>([]);
  const [log, setLog] = useState<HistoryEvent[]>([]);
  const [form, setForm] = useState<{ path: string; kind: "write" | "execute" | "attributes" | "create" } | null>(null);
  const [open, setOpen] = useState<Set<string>>(new Set(["/3/0"]));
  const [composite, setComposite] = useState("/3/0/0, /3/0/1");

  const loadClient = async () => {
    try {
      const [c, o] = await Promise.all([api.client(ep), api.objects(ep)]);
      setClient(c);
      setGone(false);
      setLinks(o.objects ?? []);
      const oids = [...new Set((o.objects ?? []).map((l) => Number((l.path ?? "").split("/")[1])).filter((n) => !Number.isNaN(n)))];
      const ms = await Promise.all(oids.map(async (id) => [id, await modelOf(id)] as const));
      setModels(new Map(ms));
    } catch (e) {
      if ((e as { status?: number }).status === 404) setGone(true);
    }
  };
  // The persisted history (GET /api/events/history: registrations, de-registrations, bootstrap
  // sessions, across restarts), oldest first from the server; the newest 50 are kept.
  const loadLog = async () => {
    try {
      let kept: HistoryEvent[] = [];
      let after = 0;
      for (let page = 0; page < 20; page++) {
        const h = await api.history({ ep, after, limit: 1000 });
        kept = [...kept, ...(h.events ?? [])].slice(-50);
        if (h.next_after === null || h.next_after === undefined) break;
        after = h.next_after;
      }
      setLog(kept);
    } catch {
      // no log (503) or signed out: the list stays as it was
    }
  };
  useEffect(() => {
    loadClient();
    loadLog();
  }, [ep]);
  // The Device object (manufacturer, model, serial number, firmware) is read once on opening, so
  // the first thing a visitor sees are the device's own answers (LwM2M TS 1.1 §E.4).
  const deviceRead = useRef(false);
  useEffect(() => {
    if (!deviceRead.current && links.some((l) => l.path === "/3/0")) {
      deviceRead.current = true;
      run("read", "/3/0");
    }
  }, [links]);

  const setShown = (m: Map<string, string>, keepHistory: boolean) => {
    const at = Date.now();
    setValues((old) => {
      const n = new Map(old);
      for (const [p, t] of m) n.set(p, { text: t, at });
      return n;
    });
    if (keepHistory)
      setHistory((old) => {
        const n = new Map(old);
        for (const [p, t] of m) n.set(p, [{ text: t, at }, ...(n.get(p) ?? [])].slice(0, 8));
        return n;
      });
  };

  const loadRef = useRef(loadClient);
  loadRef.current = loadClient;
  const loadLogRef = useRef(loadLog);
  loadLogRef.current = loadLog;
  const setShownRef = useRef(setShown);
  setShownRef.current = setShown;
  useEffect(
    () =>
      subscribe({ ep: [ep] }, (e) => {
        setEvents((old) => [e, ...old].slice(0, 200));
        if (e.type !== "notification" && e.type !== "coap") loadRef.current(); // incl. lost: re-read the state
        // an event reaches the log once the server committed it: read it a little later
        if (e.type === "registration" || e.type === "deregistration" || e.type === "bootstrap" || e.type === "lost")
          setTimeout(() => loadLogRef.current(), 500);
        if (e.type === "notification" && e.data) {
          const d = e.data as Json;
          const m = new Map<string, string>();
          if (d.content) flatten((d.path as string) ?? "", d.content as Json, m);
          recordsToMap(d.records as Json[] | undefined, m);
          if (m.size) setShownRef.current(m, true);
          if (d.ended && d.path) setObserved((o) => ((o = new Set(o)), o.delete(d.path as string), o));
        }
      }),
    [ep],
  );

  const record = (a: OpAnswer) => {
    setAnswers((old) => [a, ...old].slice(0, 50));
    const r = a.result as Json | undefined;
    if (r?.success) {
      const m = new Map<string, string>();
      if (r.content) flatten(a.path, r.content as Json, m);
      recordsToMap(r.records as Json[] | undefined, m);
      if (m.size) setShown(m, a.op === "observe" || a.op === "composite-observe");
    }
  };

  const run = async (op: DeviceOp, path: string, body?: unknown) => {
    const a = await deviceOp(ep, op, path, format, body);
    record(a);
    if (a.result?.success) {
      if (op === "observe") setObserved((o) => new Set(o).add(path));
      if (op === "cancel") setObserved((o) => ((o = new Set(o)), o.delete(path), o));
      if (op === "create" || op === "delete") loadClient();
    }
    return a;
  };

  const tree = useMemo(() => buildTree(links), [links]);
  // Objects the server has no model for (no DDF loaded): the resources come from a Discover of
  // the instance (LwM2M TS 1.1 §5.4.2), shown with their ids and every operation offered.
  const [discovered, setDiscovered] = useState<Map<string, ModelResource[]>>(new Map());
  const toggle = async (p: string) => {
    setOpen((o) => ((o = new Set(o)), o.has(p) ? o.delete(p) : o.add(p), o));
    const oid = Number(p.split("/")[1]);
    if (models.get(oid) || discovered.has(p)) return;
    const a = await run("discover", p);
    const ids = new Set<number>();
    for (const l of a.result?.links ?? []) {
      const parts = (l.target ?? "").split("/").filter(Boolean);
      if (parts.length === 3) ids.add(Number(parts[2]));
    }
    const res: ModelResource[] = [...ids].sort((x, y) => x - y).map((id) => ({ id, name: `Resource ${id}`, operations: "RWE" as ModelResource["operations"] }));
    setDiscovered((d) => new Map(d).set(p, res));
  };

  const opButtons = (path: string, ops: string, multiple = false) => {
    const obs = observed.has(path);
    return (
      <span class="ops">
        {ops.includes("R") && (
          <button data-op="read" onClick={() => run("read", path)}>
            Read
          </button>
        )}
        {ops.includes("W") && (
          <button data-op="write" onClick={() => setForm({ path, kind: "write" })}>
            Write
          </button>
        )}
        {ops.includes("E") && (
          <button data-op="execute" onClick={() => setForm({ path, kind: "execute" })}>
            Execute
          </button>
        )}
        {ops.includes("R") &&
          (obs ? (
            <button data-op="cancel" class="on" onClick={() => run("cancel", path)}>
              Cancel observe
            </button>
          ) : (
            <button data-op="observe" onClick={() => run("observe", path)}>
              Observe
            </button>
          ))}
        <button data-op="discover" onClick={() => run("discover", path)}>
          Discover
        </button>
        {ops.includes("R") && (
          <button data-op="attributes" onClick={() => setForm({ path, kind: "attributes" })} title="Write-Attributes">
            Attributes
          </button>
        )}
        {multiple && null}
      </span>
    );
  };

  const formFor = (path: string, res?: ModelResource) => {
    if (!form || form.path !== path) return null;
    const close = () => setForm(null);
    const submit = async (op: DeviceOp, body?: unknown) => {
      const a = await run(op, path, body);
      if (a.result?.success) close();
      return a;
    };
    return (
      <tr class="form-row">
        <td colSpan={4}>
          {form.kind === "write" && <WriteForm path={path} res={res} onSubmit={(b, partial) => submit(partial ? "write-partial" : "write", b)} onClose={close} />}
          {form.kind === "execute" && <ExecuteForm path={path} onSubmit={(b) => submit("execute", b)} onClose={close} />}
          {form.kind === "attributes" && <AttributesForm path={path} onSubmit={(b) => submit("attributes", b)} onClose={close} />}
          {form.kind === "create" && <WriteForm path={path} create models={models} onSubmit={(b) => submit("create", b)} onClose={close} />}
        </td>
      </tr>
    );
  };

  const valueCell = (path: string, res?: ModelResource) => {
    const v = values.get(path);
    const h = history.get(path);
    return (
      <td class="value" data-testid={`value-${path}`}>
        {v ? (
          <span class="v" title={"at " + fmtMsTime(v.at)}>
            {v.text}
            {res?.units ? <span class="unit"> {res.units}</span> : null}
          </span>
        ) : (
          <span class="muted">—</span>
        )}
        {observed.has(path) && h && (
          <ol class="history" data-testid={`history-${path}`}>
            {h.map((x) => (
              <li key={x.at}>
                {x.text} <span class="muted">{fmtMsTime(x.at)}</span>
              </li>
            ))}
          </ol>
        )}
      </td>
    );
  };

  if (gone && !client)
    return (
      <section>
        <p class="error">
          No client <b>{ep}</b> is registered. <a href="#/clients">Back to the clients</a>
        </p>
      </section>
    );

  return (
    <section class="client">
      <div class="toolbar">
        <h2>
          <a href="#/clients">Clients</a> / <span data-testid="endpoint">{ep}</span>
        </h2>
        {gone && <span class="badge bad">de-registered</span>}
        <label class="inline">
          Format
          <select aria-label="Content format" value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value as Format)}>
            {FORMATS.map((f) => (
              <option value={f}>{f || "server default"}</option>
            ))}
          </select>
        </label>
      </div>
      {client && (
        <dl class="facts" data-testid="facts">
          <dt>LwM2M</dt>
          <dd>{client.lwm2m_version}</dd>
          <dt>Binding</dt>
          <dd>{client.binding}</dd>
          <dt>Security</dt>
          <dd>{client.security_mode}</dd>
          <dt>Lifetime</dt>
          <dd data-testid="lifetime">{client.lifetime} s</dd>
          <dt>Registered</dt>
          <dd title={fmtTime(client.registered_at)}>{ago(client.registered_at)}</dd>
          <dt>Last update</dt>
          <dd title={fmtTime(client.last_update)}>{ago(client.last_update)}</dd>
          <dt>Queue mode</dt>
          <dd>{client.queue_mode ? (client.sleeping ? "sleeping" : "awake") : "no"}</dd>
          <dt>Address</dt>
          <dd>{client.address}</dd>
        </dl>
      )}
      <div class="columns">
        <div class="tree" data-testid="tree">
          {tree.map((t) => {
            const m = models.get(t.oid);
            const name = m?.name ?? t.link?.model?.name ?? `Object ${t.oid}`;
            const opath = `/${t.oid}`;
            return (
              <div class="object" key={t.oid}>
                <div class="object-head">
                  <b>{name}</b> <span class="muted">{opath}</span>
                  {m?.version && <span class="muted"> v{m.version}</span>}
                  <span class="ops">
                    <button data-op="read" onClick={() => run("read", opath)}>
                      Read
                    </button>
                    <button data-op="discover" onClick={() => run("discover", opath)}>
                      Discover
                    </button>
                    <button data-op="observe" onClick={() => run(observed.has(opath) ? "cancel" : "observe", opath)}>
                      {observed.has(opath) ? "Cancel observe" : "Observe"}
                    </button>
                    {m?.multiple !== false && t.oid !== 0 && (
                      <button data-op="create" onClick={() => setForm({ path: opath, kind: "create" })}>
                        Create instance
                      </button>
                    )}
                  </span>
                </div>
                {form?.path === opath && <table class="res">{formFor(opath)}</table>}
                {t.instances.map(({ iid }) => {
                  const ipath = `${opath}/${iid}`;
                  const isOpen = open.has(ipath);
                  return (
                    <div class="instance" key={iid}>
                      <div class="instance-head">
                        <button class="link" aria-expanded={isOpen} onClick={() => toggle(ipath)}>
                          {isOpen ? "▾" : "▸"} Instance {iid}
                        </button>
                        <span class="muted"> {ipath}</span>
                        <span class="ops">
                          <button data-op="read" onClick={() => run("read", ipath)}>
                            Read
                          </button>
                          <button data-op="discover" onClick={() => run("discover", ipath)}>
                            Discover
                          </button>
                          <button data-op="observe" onClick={() => run(observed.has(ipath) ? "cancel" : "observe", ipath)}>
                            {observed.has(ipath) ? "Cancel observe" : "Observe"}
                          </button>
                          <button data-op="attributes" onClick={() => setForm({ path: ipath, kind: "attributes" })}>
                            Attributes
                          </button>
                          {t.oid !== 0 && t.oid !== 3 && (
                            <button data-op="delete" class="danger" onClick={() => confirm(`Delete ${ipath} on the device?`) && run("delete", ipath)}>
                              Delete
                            </button>
                          )}
                        </span>
                      </div>
                      {isOpen && (
                        <table class="res">
                          <tbody>
                            {form?.path === ipath && formFor(ipath)}
                            {(m?.resources ?? discovered.get(ipath) ?? []).map((r) => {
                              const rpath = `${ipath}/${r.id}`;
                              return (
                                <>
                                  <tr key={r.id} data-path={rpath}>
                                    <td class="rid">{r.id}</td>
                                    <td class="rname" title={r.description}>
                                      {r.name}
                                      <div class="muted small">
                                        {r.type}
                                        {r.multiple ? "[]" : ""} · {r.operations || "—"}
                                        {r.mandatory ? " · mandatory" : ""}
                                      </div>
                                    </td>
                                    {valueCell(rpath, r)}
                                    <td>{opButtons(rpath, r.operations ?? "", r.multiple)}</td>
                                  </tr>
                                  {formFor(rpath, r)}
                                </>
                              );
                            })}
                            {!m && (
                              <tr>
                                <td colSpan={4} class="muted">
                                  The server has no model of object {t.oid}: resources found by Discover (load its DDF with --objects-dir or POST /api/models for names and types).
                                </td>
                              </tr>
                            )}
                          </tbody>
                        </table>
                      )}
                    </div>
                  );
                })}
              </div>
            );
          })}
          <div class="composite">
            <b>Composite</b>
            <input aria-label="Composite paths" value={composite} onInput={(e) => setComposite((e.target as HTMLInputElement).value)} />
            <button onClick={async () => record(await compositeOp(ep, "composite-read", splitPaths(composite), format))}>Read</button>
            <button onClick={async () => record(await compositeOp(ep, "composite-observe", splitPaths(composite), format))}>Observe</button>
          </div>
        </div>
        <div class="side">
          <h3>Answers</h3>
          <ol class="answers" data-testid="answers">
            {answers.map((a) => (
              <li key={a.at + a.op + a.path} data-op={a.op} data-path={a.path}>
                <span class={"code " + codeClass(a.result?.code)}>{a.result?.code ?? a.error?.status ?? "?"}</span> <b>{a.op}</b> {a.path}
                <span class="muted">
                  {" "}
                  {a.result ? `${a.result.rtt_ms.toFixed(1)} ms device · ` : ""}
                  {a.elapsed_ms.toFixed(0)} ms total{a.result?.format ? " · " + a.result.format : ""}
                </span>
                {a.error && <div class="error">{a.error.message}</div>}
                {a.result && <AnswerBody r={a.result as Json} />}
              </li>
            ))}
          </ol>
          <h3>Events</h3>
          <ol class="events" data-testid="events">
            {events.map((e) => (
              <li key={String(e.id) + e.type + e.time} data-type={e.type}>
                <span class="muted">{fmtMsTime(e.time ?? Date.now())}</span> <b>{e.type}</b> <code>{summary(e)}</code>
              </li>
            ))}
          </ol>
          <h3>History</h3>
          {log.length === 0 && <p class="muted">Nothing recorded yet.</p>}
          <ol class="events" data-testid="history">
            {[...log].reverse().map((e) => (
              <li key={e.seq} data-kind={e.kind} data-seq={e.seq}>
                <span class="muted">{fmtMsDateTime(e.time)}</span> <b>{e.kind}</b> <code>{e.detail}</code>
              </li>
            ))}
          </ol>
        </div>
      </div>
    </section>
  );
}

const splitPaths = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

function summary(e: ApiEvent): string {
  const d = (e.data ?? {}) as Json;
  if (e.type === "notification" && d.path) {
    const m = new Map<string, string>();
    if (d.content) flatten(d.path as string, d.content as Json, m);
    return `${d.path} ${[...m.values()].join(" ")}`.slice(0, 160);
  }
  return JSON.stringify(d).slice(0, 160);
}

function AnswerBody({ r }: { r: Json }) {
  const parts: string[] = [];
  if (r.content) {
    const m = new Map<string, string>();
    flatten("", r.content as Json, m);
    for (const [p, v] of m) parts.push(`${p} = ${v}`);
  }
  if (Array.isArray(r.records)) for (const x of r.records as Json[]) parts.push(`${x.path} = ${JSON.stringify(x.value)}`);
  if (typeof r.links_text === "string") parts.push(r.links_text);
  if (typeof r.location === "string") parts.push("created " + r.location);
  if (typeof r.diagnostic === "string" && r.diagnostic) parts.push("diagnostic: " + r.diagnostic);
  if (!parts.length) return null;
  return <pre class="body">{parts.join("\n").slice(0, 4000)}</pre>;
}
