import { useEffect, useRef, useState } from "preact/hooks";
import { api, seg, type ClientPage } from "../api";
import { subscribe } from "../events";
import { ago, fmtTime } from "../util";

const PAGE = 50;

/** The registered clients: server-side paging and search (limit/offset/ep_prefix or ep), so the
 * page holds at most PAGE rows whatever the fleet size; registration events refresh it. */
export function Clients() {
  const [q, setQ] = useState("");
  const [prefix, setPrefix] = useState(true);
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<ClientPage | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const seq = useRef(0);

  const load = async () => {
    const n = ++seq.current;
    try {
      const p = await api.clients({ offset, limit: PAGE, ...(q ? (prefix ? { ep_prefix: q } : { ep: q }) : {}) });
      if (n === seq.current) {
        setPage(p);
        setErr(null);
      }
    } catch (e) {
      if (n === seq.current) setErr((e as Error).message);
    }
  };

  useEffect(() => {
    const t = setTimeout(load, q ? 200 : 0);
    return () => clearTimeout(t);
  }, [q, prefix, offset]);

  // Registration changes refresh the current page (coalesced: one reload per 250 ms at most).
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let timer: number | undefined;
    return subscribe(
      { type: ["registration", "update", "deregistration", "sleeping", "awake"] },
      () => {
        if (timer === undefined) timer = window.setTimeout(() => ((timer = undefined), loadRef.current()), 250);
      },
      setLive,
    );
  }, []);

  const total = page?.total ?? 0;
  return (
    <section>
      <div class="toolbar">
        <h2>Clients</h2>
        <input
          type="search"
          placeholder="Search endpoint…"
          aria-label="Search endpoint"
          value={q}
          onInput={(e) => {
            setQ((e.target as HTMLInputElement).value);
            setOffset(0);
          }}
        />
        <label class="inline">
          <input type="checkbox" checked={prefix} onChange={(e) => setPrefix((e.target as HTMLInputElement).checked)} /> starts with
        </label>
        <span class={live ? "live on" : "live"} title="live updates (server-sent events)">
          {live ? "● live" : "○ connecting"}
        </span>
      </div>
      {err && <p class="error">{err}</p>}
      <table class="grid" data-testid="clients">
        <thead>
          <tr>
            <th>Endpoint</th>
            <th>LwM2M</th>
            <th>Binding</th>
            <th>Security</th>
            <th>Lifetime</th>
            <th>Registered</th>
            <th>Last update</th>
            <th>Queue mode</th>
            <th>Address</th>
          </tr>
        </thead>
        <tbody>
          {page?.items?.map((c) => (
            <tr key={c.endpoint}>
              <td>
                <a href={`#/clients/${seg(c.endpoint ?? "")}`}>{c.endpoint}</a>
              </td>
              <td>{c.lwm2m_version}</td>
              <td>{c.binding}</td>
              <td>{c.security_mode}</td>
              <td>{c.lifetime} s</td>
              <td title={fmtTime(c.registered_at)}>{ago(c.registered_at)}</td>
              <td title={fmtTime(c.last_update)}>{ago(c.last_update)}</td>
              <td>{c.queue_mode ? (c.sleeping ? "sleeping" : "awake") : "no"}</td>
              <td>{c.address}</td>
            </tr>
          ))}
          {page && !page.items?.length && (
            <tr>
              <td colSpan={9} class="empty">
                {q ? "No client matches." : "No client is registered."}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager offset={offset} limit={PAGE} total={total} onOffset={setOffset} />
    </section>
  );
}

export function Pager({ offset, limit, total, onOffset }: { offset: number; limit: number; total: number; onOffset: (o: number) => void }) {
  return (
    <div class="pager">
      <button disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        ‹ Previous
      </button>
      <span data-testid="range">
        {total === 0 ? 0 : offset + 1}–{Math.min(offset + limit, total)} of {total}
      </span>
      <button disabled={offset + limit >= total} onClick={() => onOffset(offset + limit)}>
        Next ›
      </button>
    </div>
  );
}
