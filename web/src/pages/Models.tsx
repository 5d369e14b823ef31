import { useEffect, useState } from "preact/hooks";
import { api, type ModelSummary } from "../api";

/** The object models the server knows (built-in Objects 0-7, --objects-dir, uploads) and the
 * upload of an OMA DDF XML file (POST /api/models), which names the resources of that object on
 * every client page. */
export function ModelsPage() {
  const [items, setItems] = useState<ModelSummary[] | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [replace, setReplace] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const load = () =>
    api
      .models()
      .then((r) => setItems([...(r.items ?? [])].sort((a, b) => (a.id ?? 0) - (b.id ?? 0))))
      .catch((e) => setMsg({ ok: false, text: e.message }));
  useEffect(() => {
    load();
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return setMsg({ ok: false, text: "choose a DDF file (.xml)" });
    if (file.size > 4 << 20) return setMsg({ ok: false, text: "the file is larger than 4 MiB" });
    try {
      const m = await api.uploadModel(await file.text(), replace);
      setMsg({ ok: true, text: `Object ${m.id} (${m.name}) loaded.` });
      load();
    } catch (x) {
      setMsg({ ok: false, text: (x as Error).message });
    }
  };
  return (
    <section>
      <div class="toolbar">
        <h2>Object models</h2>
      </div>
      <form class="card" onSubmit={submit} data-testid="model-form">
        <h3>Load an object definition (OMA DDF XML)</h3>
        <input type="file" name="ddf" accept=".xml,application/xml,text/xml" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
        <label class="inline">
          <input type="checkbox" checked={replace} onChange={(e) => setReplace((e.target as HTMLInputElement).checked)} /> replace a model with the same id
        </label>
        <button type="submit">Load</button>
        {msg && (
          <p class={msg.ok ? "okmsg" : "error"} data-testid="model-msg">
            {msg.text}
          </p>
        )}
      </form>
      <table class="grid" data-testid="models">
        <thead>
          <tr>
            <th>Id</th>
            <th>Name</th>
            <th>Version</th>
            <th>LwM2M</th>
            <th>Instances</th>
            <th>Resources</th>
            <th>URN</th>
          </tr>
        </thead>
        <tbody>
          {items?.map((m) => (
            <tr key={m.id}>
              <td>{m.id}</td>
              <td>{m.name}</td>
              <td>{m.version}</td>
              <td>{m.lwm2m_version}</td>
              <td>{m.multiple ? "multiple" : "single"}</td>
              <td>{m.resource_count}</td>
              <td class="muted">{m.urn}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
