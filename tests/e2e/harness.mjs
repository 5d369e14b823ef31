// What the browser tests share (web_ui_e2e.mjs, web_ui_100k_e2e.mjs): command-line options, a
// work folder, child processes that are always stopped, a watchdog, lwm2m-server on free
// 127.0.0.1 ports, headless chromium (playwright-core) that flags page errors and requests to
// any host but the server, and the PASS/FAIL ending ctest looks for.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

/** "--name value" pairs; exits 2 when one of `required` is missing. */
export function parseArgs(required) {
  const args = Object.fromEntries(
    process.argv
      .slice(2)
      .reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
  );
  for (const k of required) {
    if (!args[k]) {
      console.error(`usage: missing --${k}`);
      process.exit(2);
    }
  }
  return args;
}

export function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.on("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** One test run: `prefix` names its work folder, `waitMs` bounds every single wait,
 * `watchdogMs` the whole run, `logs` are the files of `work` shown when it fails. */
export function createRun({ args, prefix, waitMs, watchdogMs, logs }) {
  const work = fs.mkdtempSync(path.join(args.work ?? os.tmpdir(), prefix));
  const shots = args.screenshots ? path.resolve(args.screenshots) : path.join(work, "screenshots");
  fs.mkdirSync(shots, { recursive: true });
  const children = [];
  const consoleLines = [];
  const t0 = Date.now();
  let browser;

  async function cleanup() {
    try {
      await browser?.close();
    } catch {}
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => (c.once("exit", r), setTimeout(r, 5000))) : null)));
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  }
  const watchdog = setTimeout(async () => {
    console.log(`FAIL e2e: watchdog (${watchdogMs / 1000} s)`);
    await cleanup();
    process.exit(1);
  }, watchdogMs);

  return {
    work,
    shots,
    children,
    consoleLines,
    step: (s) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${s}`),

    /** lwm2m-server on free ports with the UI of --web-root; resolves once it prints READY. A
     * port taken between freeUdpPort() and the bind (tests in parallel) is drawn again. */
    async startServer({ dataDir, store, logLevel }) {
      const errPath = path.join(work, "server.err");
      let ports, ready = "";
      for (let attempt = 0; attempt < 5 && !ready.startsWith("READY http="); ++attempt) {
        ports = { coap: await freeUdpPort(), coaps: await freeUdpPort(), bs: await freeUdpPort(), bss: await freeUdpPort() };
        const serverErr = fs.openSync(errPath, "w");
        const server = spawn(
          args.server,
          ["--data-dir", dataDir, "--store", store, "--coap-address", "127.0.0.1", "--http-address", "127.0.0.1", "--http-port", "0",
           "--coap-port", ports.coap, "--coaps-port", ports.coaps, "--bs-coap-port", ports.bs, "--bs-coaps-port", ports.bss,
           "--nosec", "any", "--web-root", path.resolve(args["web-root"]), "--log-level", logLevel].map(String),
          { stdio: ["ignore", "pipe", serverErr] },
        );
        children.push(server);
        ready = await new Promise((resolve) => {
          const rl = readline.createInterface({ input: server.stdout });
          const timer = setTimeout(() => resolve(""), waitMs);
          rl.once("line", (l) => (clearTimeout(timer), resolve(l)));
          rl.once("close", () => (clearTimeout(timer), resolve("")));
        });
        if (!ready.startsWith("READY http=") && !fs.readFileSync(errPath, "utf8").includes("Address already in use")) break;
      }
      expect(ready.startsWith("READY http="), `lwm2m-server did not start: ${ready}\n${fs.readFileSync(errPath, "utf8").slice(-3000)}`);
      const base = `http://${ready.slice("READY http=".length).trim()}/`;
      const apiToken = fs.readFileSync(path.join(dataDir, "api-token"), "utf8").trim();
      return { ports, base, origin: new URL(base).origin, apiToken };
    },

    /** Headless chromium on a fresh profile; `problems` collects page errors and requests to any
     * host but `origin`; the console goes to consoleLines (shown on failure). */
    async launchBrowser(origin) {
      const require = createRequire(path.join(path.resolve(args["node-modules"]), "x.js"));
      const { chromium } = require("playwright-core");
      browser = await chromium.launchPersistentContext(path.join(work, "chromium-profile"), {
        executablePath: args.chromium ?? "/usr/bin/chromium",
        headless: true,
        viewport: { width: 1280, height: 820 },
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
      });
      const page = browser.pages()[0] ?? (await browser.newPage());
      page.setDefaultTimeout(waitMs);
      const problems = [];
      page.on("pageerror", (e) => problems.push("page error: " + e.message));
      page.on("console", (m) => consoleLines.push(m.type() + ": " + m.text()));
      page.on("request", (r) => {
        if (!r.url().startsWith(origin + "/") && !r.url().startsWith("data:")) problems.push("request to another host: " + r.url());
      });
      return { page, problems };
    },

    /** Runs `main`, prints PASS (and removes the work folder) or FAIL with the logs, exits. */
    async finish(main) {
      let ok = false;
      try {
        await main();
        ok = true;
      } catch (e) {
        console.log(`FAIL e2e: ${e.message}`);
        console.log("--- browser console (tail)\n" + consoleLines.slice(-20).join("\n"));
        for (const f of logs) {
          try {
            console.log(`--- ${f} (tail)\n` + fs.readFileSync(path.join(work, f), "utf8").slice(-2500));
          } catch {}
        }
      } finally {
        clearTimeout(watchdog);
        await cleanup();
      }
      if (ok) {
        console.log(`PASS e2e (${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${shots})`);
        fs.rmSync(work, { recursive: true, force: true });
      }
      process.exit(ok ? 0 : 1);
    },
  };
}
