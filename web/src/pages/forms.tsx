import { useState } from "preact/hooks";
import type { Attributes, Model, ModelResource, OpAnswer, ValueType } from "../api";
import { parseValue } from "../validate";

function TypedInput({ type, value, onInput }: { type?: ValueType; value: string; onInput: (v: string) => void }) {
  const set = (e: Event) => onInput((e.target as HTMLInputElement).value);
  if (type === "boolean")
    return (
      <select aria-label="value" value={value} onChange={set}>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  const numeric = type === "integer" || type === "unsigned" || type === "float" || type === "time";
  if (numeric) return <input aria-label="value" type="number" step={type === "float" ? "any" : "1"} min={type === "unsigned" ? 0 : undefined} value={value} onInput={set} />;
  return <input aria-label="value" type="text" value={value} onInput={set} />;
}

export function WriteForm(props: {
  path: string;
  res?: ModelResource;
  create?: boolean;
  models?: Map<number, Model | null>;
  onSubmit: (body: unknown, partial: boolean) => Promise<OpAnswer>;
  onClose: () => void;
}) {
  const { path, res } = props;
  const [text, setText] = useState(res?.type === "boolean" ? "true" : "");
  const [opaqueAs, setOpaqueAs] = useState<"hex" | "base64">("hex");
  const [json, setJson] = useState(props.create ? '{"resources": [\n  {"id": 0, "value": ""}\n]}' : "");
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const rid = Number(path.split("/").pop());
  const single = res && !res.multiple && !props.create;
  const submit = async (e: Event, partial = false) => {
    e.preventDefault();
    let body: unknown;
    if (single) {
      const v = parseValue(res.type, text, opaqueAs);
      if (v.error) return setErr(v.error);
      body = { id: rid, value: v.value };
    } else {
      try {
        body = JSON.parse(json);
      } catch (x) {
        return setErr("not valid JSON: " + (x as Error).message);
      }
    }
    setErr(null);
    setBusy(true);
    const a = await props.onSubmit(body, partial);
    setBusy(false);
    if (a.error) setErr(a.error.message);
    else if (!a.result?.success) setErr(`the device answered ${a.result?.code}`);
  };
  return (
    <form class="opform" onSubmit={submit} data-testid="write-form">
      <b>{props.create ? `Create an instance of ${path}` : `Write ${path}`}</b>
      {single ? (
        <>
          <TypedInput type={res.type} value={text} onInput={setText} />
          <span class="muted">
            {res.type}
            {res.units ? ` (${res.units})` : ""}
            {res.range ? ` range ${res.range}` : ""}
          </span>
          {res.type === "opaque" && (
            <select aria-label="opaque input" value={opaqueAs} onChange={(e) => setOpaqueAs((e.target as HTMLSelectElement).value as "hex" | "base64")}>
              <option value="hex">hex</option>
              <option value="base64">base64</option>
            </select>
          )}
        </>
      ) : (
        <>
          <textarea aria-label="JSON body" rows={4} value={json} onInput={(e) => setJson((e.target as HTMLTextAreaElement).value)} />
          <span class="muted small">
            {props.create ? 'An instance: {"id"?, "resources": [{"id", "value"}]}' : 'A multiple resource: {"id": ' + rid + ', "instances": {"0": value}}'}
          </span>
        </>
      )}
      <button type="submit" disabled={busy}>
        {props.create ? "Create" : "Write"}
      </button>
      {!single && !props.create && (
        <button type="button" disabled={busy} onClick={(e) => submit(e, true)}>
          Partial update
        </button>
      )}
      <button type="button" class="link" onClick={props.onClose}>
        Close
      </button>
      {err && <div class="error">{err}</div>}
    </form>
  );
}

export function ExecuteForm(props: { path: string; onSubmit: (body: unknown) => Promise<OpAnswer>; onClose: () => void }) {
  const [args, setArgs] = useState("");
  const [err, setErr] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    // LwM2M TS 1.1 §5.4.5: arg = digit [ "=" "'" text "'" ], separated by ","
    if (args.trim() && !/^\d(='[^']*')?(,\d(='[^']*')?)*$/.test(args.trim())) return setErr("arguments look like 0='text',1 (a digit, optionally ='value')");
    setErr(null);
    const a = await props.onSubmit(args.trim() ? { args: args.trim() } : undefined);
    if (a.error) setErr(a.error.message);
    else if (!a.result?.success) setErr(`the device answered ${a.result?.code}`);
  };
  return (
    <form class="opform" onSubmit={submit} data-testid="execute-form">
      <b>Execute {props.path}</b>
      <input aria-label="arguments" placeholder="arguments, e.g. 0='x',1 (optional)" value={args} onInput={(e) => setArgs((e.target as HTMLInputElement).value)} />
      <button type="submit">Execute</button>
      <button type="button" class="link" onClick={props.onClose}>
        Close
      </button>
      {err && <div class="error">{err}</div>}
    </form>
  );
}

const ATTRS = ["pmin", "pmax", "gt", "lt", "st", "epmin", "epmax"] as const;

export function AttributesForm(props: { path: string; onSubmit: (body: unknown) => Promise<OpAnswer>; onClose: () => void }) {
  const [v, setV] = useState<Record<string, string>>({});
  const [clear, setClear] = useState<Set<string>>(new Set());
  const [err, setErr] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Attributes & Record<string, unknown> = {};
    for (const k of ATTRS) {
      const t = (v[k] ?? "").trim();
      if (!t) continue;
      const n = Number(t);
      const int = k === "pmin" || k === "pmax" || k === "epmin" || k === "epmax";
      if (Number.isNaN(n) || (int && (!Number.isInteger(n) || n < 0)) || (k === "st" && n < 0)) return setErr(`${k}: ${int ? "a non-negative integer" : "a number"} is required`);
      body[k] = n;
    }
    const num = (k: string) => body[k] as number | undefined;
    // LwM2M TS 1.1 §5.1.2: pmin <= pmax, epmin <= epmax, lt < gt, lt + 2*st < gt
    if (num("pmin") !== undefined && num("pmax") !== undefined && num("pmin")! > num("pmax")!) return setErr("pmin must not exceed pmax");
    if (num("epmin") !== undefined && num("epmax") !== undefined && num("epmin")! > num("epmax")!) return setErr("epmin must not exceed epmax");
    if (num("lt") !== undefined && num("gt") !== undefined) {
      if (num("lt")! >= num("gt")!) return setErr("lt must be below gt");
      if (num("st") !== undefined && num("lt")! + 2 * num("st")! >= num("gt")!) return setErr("lt + 2·st must be below gt");
    }
    if (clear.size) body.clear = [...clear];
    if (Object.keys(body).length === 0) return setErr("set or clear at least one attribute");
    setErr(null);
    const a = await props.onSubmit(body);
    if (a.error) setErr(a.error.message);
    else if (!a.result?.success) setErr(`the device answered ${a.result?.code}`);
  };
  return (
    <form class="opform" onSubmit={submit} data-testid="attributes-form">
      <b>Write-Attributes {props.path}</b>
      {ATTRS.map((k) => (
        <label class="attr">
          {k}
          <input
            type="number"
            step="any"
            aria-label={k}
            value={v[k] ?? ""}
            onInput={(e) => setV({ ...v, [k]: (e.target as HTMLInputElement).value })}
          />
          <input
            type="checkbox"
            title={`clear ${k}`}
            checked={clear.has(k)}
            onChange={(e) => setClear((c) => ((c = new Set(c)), (e.target as HTMLInputElement).checked ? c.add(k) : c.delete(k), c))}
          />
        </label>
      ))}
      <span class="muted small">checkbox: clear</span>
      <button type="submit">Write attributes</button>
      <button type="button" class="link" onClick={props.onClose}>
        Close
      </button>
      {err && <div class="error">{err}</div>}
    </form>
  );
}
