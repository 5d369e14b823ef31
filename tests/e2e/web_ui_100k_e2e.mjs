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
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { createRun, expect, parseArgs } from "./harness.mjs";

const args = parseArgs(["server", "seed", "web-root", "node-modules"]);
const N = Number(args.count ?? 100000);
const T = 20_000; // the bound of every single wait
const run = createRun({ args, prefix: "lwm2m-e2e-100k-", waitMs: T, watchdogMs: 100_000, logs: ["server.err"] });
const { work, shots, step } = run;
const timing = (what, ms) => console.log(`TIMING ${what}: ${ms.toFixed(0)} ms`);
const ep = (i) => `dev-${String(i).padStart(6, "0")}`;

async function main() {
  // ---- N registrations in the data directory, through the store API ----
  const dataDir = path.join(work, "server");
  const seeded = spawnSync(args.seed, [dataDir, String(N)], { encoding: "utf8", timeout: 60_000 });
  expect(seeded.status === 0, `seeding failed: ${seeded.stdout}${seeded.stderr}`);
  step(seeded.stdout.trim());

  // ---- lwm2m-server restores them ----
  const started = Date.now();
  const { base, origin, apiToken } = await run.startServer({ dataDir, store: "sqlite", logLevel: "info" });
  timing(`server start with ${N} registrations restored`, Date.now() - started);
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
  const { page, problems } = await run.launchBrowser(origin);
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

await run.finish(main);
