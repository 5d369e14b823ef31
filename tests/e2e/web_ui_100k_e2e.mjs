#!/usr/bin/env node
// The web UI with 100,000 registered clients (label e2e): lwm2m_seed_registrations writes N
// registrations into a data directory's lwm2m.db through the store API, lwm2m-server (--store
// sqlite) restores them at start, and headless chromium (playwright-core) signs in, sees the
// total, pages forward, searches an endpoint prefix, finds the one endpoint and opens it.
// Timings (time to the first page, search latency, REST latency) are PRINTED for
// docs/performance.md, never asserted (the machine is shared).
//
//   node web_ui_100k_e2e.mjs --server BIN --seed BIN --web-root DIR --node-modules DIR
//                            [--count 100000] [--chromium /usr/bin/chromium] [--screenshots DIR]
//                            [--work DIR]
//
// Prints "PASS e2e" or "FAIL e2e: why". Every wait is bounded; a watchdog ends the run at 100 s.
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import dgram from "node:dgram";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
for (const k of ["server", "seed", "web-root", "node-modules"]) {
  if (!args[k]) {
    console.error(`usage: missing --${k}`);
    process.exit(2);
  }
}
const require = createRequire(path.join(path.resolve(args["node-modules"]), "x.js"));
const { chromium } = require("playwright-core");

const N = Number(args.count ?? 100000);
const T = 20_000; // the bound of every single wait
const work = fs.mkdtempSync(path.join(args.work ?? os.tmpdir(), "lwm2m-e2e-100k-"));
const shots = args.screenshots ? path.resolve(args.screenshots) : path.join(work, "screenshots");
fs.mkdirSync(shots, { recursive: true });
const children = [];
let browser;
const t0 = Date.now();
const consoleLines = [];
const step = (s) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${s}`);
const timing = (what, ms) => console.log(`TIMING ${what}: ${ms.toFixed(0)} ms`);
const ep = (i) => `dev-${String(i).padStart(6, "0")}`;

async function cleanup() {
  try {
    await browser?.close();
  } catch {}
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => (c.once("exit", r), setTimeout(r, 5000))) : null)));
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
}
const watchdog = setTimeout(async () => {
  console.log("FAIL e2e: watchdog (100 s)");
  await cleanup();
  process.exit(1);
}, 100_000);

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    s.on("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function main() {
  // ---- N registrations in the data directory, through the store API ----
  const dataDir = path.join(work, "server");
  const seeded = spawnSync(args.seed, [dataDir, String(N)], { encoding: "utf8", timeout: 60_000 });
  expect(seeded.status === 0, `seeding failed: ${seeded.stdout}${seeded.stderr}`);
  step(seeded.stdout.trim());

  // ---- lwm2m-server restores them ----
  const ports = { coap: await freeUdpPort(), coaps: await freeUdpPort(), bs: await freeUdpPort(), bss: await freeUdpPort() };
  const serverErr = fs.openSync(path.join(work, "server.err"), "w");
  const started = Date.now();
  const server = spawn(
    args.server,
    ["--data-dir", dataDir, "--store", "sqlite", "--coap-address", "127.0.0.1", "--http-address", "127.0.0.1", "--http-port", "0",
     "--coap-port", ports.coap, "--coaps-port", ports.coaps, "--bs-coap-port", ports.bs, "--bs-coaps-port", ports.bss,
     "--nosec", "any", "--web-root", path.resolve(args["web-root"]), "--log-level", "info"].map(String),
    { stdio: ["ignore", "pipe", serverErr] },
  );
  children.push(server);
  const ready = await new Promise((resolve) => {
    const rl = readline.createInterface({ input: server.stdout });
    const timer = setTimeout(() => resolve(""), T);
    rl.once("line", (l) => (clearTimeout(timer), resolve(l)));
  });
  expect(ready.startsWith("READY http="), `lwm2m-server did not start: ${ready}\n${fs.readFileSync(path.join(work, "server.err"), "utf8").slice(-3000)}`);
  timing(`server start with ${N} registrations restored`, Date.now() - started);
  const base = `http://${ready.slice("READY http=".length).trim()}/`;
  const origin = new URL(base).origin;
  const apiToken = fs.readFileSync(path.join(dataDir, "api-token"), "utf8").trim();
  expect(fs.readFileSync(path.join(work, "server.err"), "utf8").includes(`${N} registrations restored`), "the server did not restore the seeded registrations");

  // ---- REST latency of the list and search paths (median of 5) ----
  const rest = async (q) => {
    const ms = [];
    let body;
    for (let i = 0; i < 5; i++) {
      const s = performance.now();
      const r = await fetch(`${origin}/api/clients?${q}`, { headers: { Authorization: "Bearer " + apiToken } });
      body = await r.json();
      ms.push(performance.now() - s);
    }
    ms.sort((a, b) => a - b);
    timing(`GET /api/clients?${q} (median of 5)`, ms[2]);
    return body;
  };
  const p0 = await rest("offset=0&limit=50");
  expect(p0.total === N && p0.items.length === 50 && p0.items[0].endpoint === ep(0), `first page: total ${p0.total}, first ${p0.items?.[0]?.endpoint}`);
  const mid = await rest(`offset=${N / 2}&limit=50`);
  expect(mid.items[0].endpoint === ep(N / 2), `middle page starts with ${mid.items?.[0]?.endpoint}`);
  const last = await rest(`offset=${N - 50}&limit=50`);
  expect(last.items[49].endpoint === ep(N - 1), `last page ends with ${last.items?.[49]?.endpoint}`);
  const target = ep(Math.floor(N * 0.73) + 45); // dev-073045 with N = 100,000
  const pre = await rest(`ep_prefix=${target.slice(0, -1)}&limit=50`);
  expect(pre.total === 10 && pre.items.every((c) => c.endpoint.startsWith(target.slice(0, -1))), `prefix search: ${pre.total}`);
  await rest(`ep=${target.slice(4)}&limit=50`);

  // ---- the browser ----
  browser = await chromium.launchPersistentContext(path.join(work, "chromium-profile"), {
    executablePath: args.chromium ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 820 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(T);
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => consoleLines.push(m.type() + ": " + m.text()));
  page.on("request", (r) => {
    if (!r.url().startsWith(origin + "/") && !r.url().startsWith("data:")) problems.push("request to another host: " + r.url());
  });
  const rows = page.locator('[data-testid="clients"] tbody tr');
  const range = page.locator('[data-testid="range"]');

  // ---- sign in: the first page and the total ----
  await page.goto(base);
  await page.locator('[data-testid="signin"]').waitFor();
  await page.fill('input[name="token"]', apiToken);
  let s = performance.now();
  await page.click('button[type="submit"]');
  await page.locator(`[data-testid="clients"] a:text-is("${ep(0)}")`).waitFor();
  await page.locator(`[data-testid="range"]:text-is("1–50 of ${N}")`).waitFor();
  timing("sign-in click to the first page of clients shown", performance.now() - s);
  expect((await rows.count()) === 50, `the page renders ${await rows.count()} rows, not 50`);
  step(`signed in: ${await range.innerText()}`);

  // ---- paging forward ----
  for (let n = 1; n <= 3; n++) {
    s = performance.now();
    await page.click('.pager button:has-text("Next")');
    await page.locator(`[data-testid="clients"] a:text-is("${ep(50 * n)}")`).waitFor();
    await page.locator(`[data-testid="range"]:text-is("${50 * n + 1}–${50 * n + 50} of ${N}")`).waitFor();
    timing(`Next page ${n + 1}`, performance.now() - s);
  }
  expect((await rows.count()) === 50, "page 4 does not have 50 rows");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shots, "clients-100k.png"), fullPage: true });

  // ---- search an endpoint prefix, then the one endpoint ----
  s = performance.now();
  await page.fill('input[type="search"]', target.slice(0, -1));
  await page.locator(`[data-testid="range"]:text-is("1–10 of 10")`).waitFor();
  timing(`search "${target.slice(0, -1)}" typed to 10 rows shown (includes the UI's 200 ms typing debounce)`, performance.now() - s);
  const found = await page.locator('[data-testid="clients"] tbody a').allInnerTexts();
  expect(found.length === 10 && found.every((e) => e.startsWith(target.slice(0, -1))), `prefix search found ${found}`);
  s = performance.now();
  await page.fill('input[type="search"]', target);
  await page.locator(`[data-testid="range"]:text-is("1–1 of 1")`).waitFor();
  timing(`search "${target}" typed to 1 row shown (includes the 200 ms debounce)`, performance.now() - s);
  expect((await page.locator('[data-testid="clients"] tbody a').allInnerTexts()).join() === target, "the search did not find the endpoint");
  step(`searched ${target.slice(0, -1)} (10 rows) and ${target} (1 row)`);

  // ---- open it ----
  s = performance.now();
  await page.click(`[data-testid="clients"] a:text-is("${target}")`);
  await page.locator(`[data-testid="endpoint"]:text-is("${target}")`).waitFor();
  await page.locator('[data-testid="lifetime"]:text-is("86400 s")').waitFor();
  await page.locator('[data-testid="tree"]').waitFor();
  timing("client page opened", performance.now() - s);
  step(`opened ${target}: its facts and object tree are shown`);

  expect(problems.length === 0, problems.join("\n"));
}

let ok = false;
try {
  await main();
  ok = true;
} catch (e) {
  console.log(`FAIL e2e: ${e.message}`);
  console.log("--- browser console (tail)\n" + consoleLines.slice(-20).join("\n"));
  try {
    console.log("--- server.err (tail)\n" + fs.readFileSync(path.join(work, "server.err"), "utf8").slice(-2500));
  } catch {}
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
if (ok) {
  console.log(`PASS e2e (${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${shots})`);
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
