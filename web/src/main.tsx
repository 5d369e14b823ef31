import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { setUnauthorizedHandler, token } from "./api";
import { SignIn } from "./pages/SignIn";
import { Clients } from "./pages/Clients";
import { ClientPage } from "./pages/Client";
import { SecurityPage } from "./pages/Security";
import { BootstrapPage } from "./pages/Bootstrap";
import { ModelsPage } from "./pages/Models";
import "./style.css";

/** Hash routes (#/clients, #/clients/<ep>, #/security, #/bootstrap): the server only serves
 * files, so the page never depends on a server-side fallback route. */
function useRoute(): string[] {
  const parse = () => (location.hash.replace(/^#\/?/, "") || "clients").split("/").map(decodeURIComponent);
  const [r, setR] = useState(parse);
  useEffect(() => {
    const f = () => setR(parse());
    addEventListener("hashchange", f);
    return () => removeEventListener("hashchange", f);
  }, []);
  return r;
}

function App() {
  const [signedIn, setSignedIn] = useState(() => token.get() !== null);
  const route = useRoute();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      token.clear();
      setSignedIn(false);
    });
  }, []);
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const [page, arg] = route;
  const nav = (href: string, label: string, on: boolean) => (
    <a href={href} class={on ? "on" : ""}>
      {label}
    </a>
  );
  return (
    <>
      <header>
        <span class="brand">lwm2m-cpp</span>
        <nav>
          {nav("#/clients", "Clients", page === "clients")}
          {nav("#/security", "Security", page === "security")}
          {nav("#/bootstrap", "Bootstrap", page === "bootstrap")}
          {nav("#/models", "Models", page === "models")}
        </nav>
        <button
          class="link"
          onClick={() => {
            token.clear();
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        {page === "clients" && arg !== undefined ? (
          <ClientPage key={arg} ep={arg} />
        ) : page === "security" ? (
          <SecurityPage />
        ) : page === "bootstrap" ? (
          <BootstrapPage />
        ) : page === "models" ? (
          <ModelsPage />
        ) : (
          <Clients />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
