import { useState } from "preact/hooks";
import { api, token } from "../api";

export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [t, setT] = useState("");
  const [err, setErr] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = t.trim();
    if (!/^[0-9a-fA-F]{16,}$/.test(v)) return setErr("The API token is the hex text in <data-dir>/api-token.");
    setBusy(true);
    setErr(null);
    try {
      await api.checkToken(v);
      token.set(v);
      onSignedIn();
    } catch (x) {
      setErr((x as { status?: number }).status === 401 ? "This token is not accepted by the server." : String((x as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="signin">
      <form onSubmit={submit} data-testid="signin">
        <h1>lwm2m-cpp server</h1>
        <p>Sign in with the server's API token (the file <code>api-token</code> in its data folder). It is kept in this tab only.</p>
        <label>
          API token
          <input type="password" name="token" autoComplete="off" value={t} onInput={(e) => setT((e.target as HTMLInputElement).value)} />
        </label>
        {err && <p class="error">{err}</p>}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </div>
  );
}
