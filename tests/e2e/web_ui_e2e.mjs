#!/usr/bin/env node
// The web UI in a real browser (label e2e): headless Debian chromium driven by playwright-core
// against the real lwm2m-server (serving the built UI with --web-root) and the real
// lwm2m-client (NoSec, demo sensor every 0.5 s), all on 127.0.0.1 with free ports.
//
//   node web_ui_e2e.mjs --server BIN --client BIN --web-root DIR --node-modules DIR
//                       [--chromium /usr/bin/chromium] [--screenshots DIR] [--work DIR]
//
// Prints "PASS e2e" or "FAIL e2e: why" (ctest FAIL_REGULAR_EXPRESSION). Every wait is bounded;
// a watchdog ends the run after 90 s whatever happens.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { createRun, expect, parseArgs } from "./harness.mjs";

const args = parseArgs(["server", "client", "web-root", "node-modules"]);
const T = 10_000; // the bound of every single wait
const run = createRun({ args, prefix: "lwm2m-e2e-", waitMs: T, watchdogMs: 90_000, logs: ["server.err", "client.err"] });
const { work, shots, children, consoleLines, step } = run;

async function main() {
  // ---- lwm2m-server ----
  const dataDir = path.join(work, "server");
  fs.mkdirSync(dataDir);
  const { ports, base, origin, apiToken } = await run.startServer({ dataDir, store: "memory", logLevel: "debug" });
  step(`server at ${base}`);

  // ---- the browser ----
  const { page, problems } = await run.launchBrowser(origin);
  const requests = [];
  page.on("console", (m) => m.type() === "error" && !/Failed to load resource/.test(m.text()) && problems.push("console error: " + m.text()));
  page.on("response", (r) => r.status() >= 400 && consoleLines.push(`HTTP ${r.status()} ${r.request().method()} ${r.url().replace(/access_token=[0-9a-f]+/, "access_token=...")}`));
  page.on("request", (r) => requests.push(r.method() + " " + r.url()));

  // ---- sign in ----
  await page.goto(base);
  await page.locator('[data-testid="signin"]').waitFor();
  await page.screenshot({ path: path.join(shots, "signin.png") });
  await page.fill('input[name="token"]', "00".repeat(32));
  await page.click('button[type="submit"]');
  await page.locator("text=not accepted").waitFor();
  await page.fill('input[name="token"]', apiToken);
  await page.click('button[type="submit"]');
  await page.locator('[data-testid="clients"]').waitFor();
  await page.locator("text=No client is registered").waitFor();
  await page.locator(".live.on").waitFor();
  step("signed in; the clients list is empty and live");

  // ---- the client registers: it appears without a reload ----
  const ep = "e2e-device-1";
  const clientErr = fs.openSync(path.join(work, "client.err"), "w");
  const client = spawn(
    args.client,
    ["-e", ep, "--server", `coap://127.0.0.1:${ports.coap}`, "-d", path.join(work, "client-state"), "--demo-interval", "0.5",
     "--serial", "E2E-SN-0042", "--log-level", "debug", "--shutdown-grace", "3"],
    { stdio: ["ignore", "ignore", clientErr] },
  );
  children.push(client);
  const navigations = [];
  page.on("framenavigated", (f) => f === page.mainFrame() && navigations.push(f.url()));
  await page.locator(`[data-testid="clients"] a:text-is("${ep}")`).waitFor();
  expect(navigations.length === 0, `the page navigated: ${navigations}`);
  await page.screenshot({ path: path.join(shots, "clients.png") });
  step("the client appeared in the list without a reload");
  // server-side search (ep_prefix): no match, then a match
  await page.fill('input[type="search"]', "nomatch-");
  await page.locator("text=No client matches").waitFor();
  await page.fill('input[type="search"]', "e2e-dev");
  await page.locator(`[data-testid="clients"] a:text-is("${ep}")`).waitFor();
  expect(requests.some((r) => r.includes("ep_prefix=nomatch-")), "the search was not done by the server");

  // ---- the client page: read /3/0/0 ----
  await page.click(`[data-testid="clients"] a:text-is("${ep}")`);
  await page.locator('[data-testid="tree"] [data-path="/3/0/0"]').waitFor();
  const row = (p) => page.locator(`[data-path="${p}"]`);
  await row("/3/0/0").locator('button[data-op="read"]').click();
  await page.locator('[data-testid="value-/3/0/0"] .v').waitFor();
  const manufacturer = (await page.locator('[data-testid="value-/3/0/0"] .v').innerText()).trim();
  expect(manufacturer.length > 0, "no value shown for /3/0/0");
  const first = page.locator('[data-testid="answers"] li[data-op="read"][data-path="/3/0/0"]').first();
  await first.waitFor();
  expect((await first.locator(".code").innerText()).trim() === "2.05", "read /3/0/0 did not answer 2.05");
  expect(/\d+(\.\d)? ms device/.test(await first.innerText()), "no timing shown for the read");
  // the serial number, as a first-time user would find it
  await row("/3/0/2").locator('button[data-op="read"]').click();
  await page.locator('[data-testid="value-/3/0/2"] .v:text("E2E-SN-0042")').waitFor();
  step(`read /3/0/0 = ${manufacturer}, /3/0/2 = E2E-SN-0042`);

  // ---- the persisted history (GET /api/events/history) lists the registration ----
  const registered = page.locator('[data-testid="history"] li[data-kind="registered"]').first();
  await registered.waitFor({ timeout: T });
  expect((await registered.innerText()).includes("location"), "the history entry has no detail");
  expect(requests.some((r) => r.includes("/api/events/history") && r.includes(`ep=${encodeURIComponent(ep)}`)), "the history was not asked for this endpoint");
  step("history shows the registration");

  // ---- write /1/0/1 (lifetime): the client sends an Update ----
  const updates = () => page.locator('[data-testid="events"] li[data-type="update"]').count();
  const updatesBefore = await updates();
  await page.locator('.instance:has(.muted:text-is("/1/0")) button[aria-expanded]').click();
  await row("/1/0/1").locator('button[data-op="write"]').click();
  await page.locator('[data-testid="write-form"] input[aria-label="value"]').fill("137");
  await page.locator('[data-testid="write-form"] button[type="submit"]').click();
  await page.locator('[data-testid="answers"] li').first().locator('.code:text-is("2.04")').waitFor();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="events"] li[data-type="update"]').length > n, updatesBefore, { timeout: T });
  await page.locator('[data-testid="lifetime"]:text-is("137 s")').waitFor();
  step("wrote lifetime 137: update event arrived, lifetime shown");

  // ---- an object the server has no model of: resources found by Discover, by id ----
  await page.locator('.instance:has(.muted:text-is("/3303/0")) button[aria-expanded]').click();
  await row("/3303/0/5700").locator('td.rname:text("Resource 5700")').waitFor();
  // its DDF loaded on the Models page (POST /api/models): names, types and units from the model
  await page.click('header a[href="#/models"]');
  await page.locator('[data-testid="models"] td:text-is("Device")').waitFor();
  await page.setInputFiles('input[name="ddf"]', path.join(path.dirname(new URL(import.meta.url).pathname), "temperature-3303.xml"));
  await page.click('[data-testid="model-form"] button[type="submit"]');
  await page.locator('[data-testid="model-msg"]:text("Object 3303 (Temperature) loaded")').waitFor();
  await page.locator('[data-testid="models"] td:text-is("Temperature")').waitFor();
  await page.screenshot({ path: path.join(shots, "models.png") });
  await page.goBack();
  await page.locator('.instance:has(.muted:text-is("/3303/0")) button[aria-expanded]').click();
  await row("/3303/0/5700").locator('td.rname:text("Sensor Value")').waitFor();
  step("object 3303: resources by Discover without a model, named after its DDF was loaded on the Models page");

  // ---- observe /3303/0/5700: at least three values arrive ----
  await row("/3303/0/5700").locator('button[data-op="observe"]').click();
  await row("/3303/0/5700").locator('button[data-op="cancel"]').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-/3303/0/5700"] li').length >= 3, null, { timeout: T });
  const seen = await page.locator('[data-testid="history-/3303/0/5700"] li').allInnerTexts();
  step(`observe /3303/0/5700: ${seen.length} values (${seen.slice(0, 4).map((s) => s.split(" ")[0]).join(", ")})`);
  await page.locator('.instance:has(.muted:text-is("/3/0")) button[aria-expanded]').click();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shots, "client.png"), fullPage: false });
  await page.locator('.instance:has(.muted:text-is("/3/0")) button[aria-expanded]').click();
  await row("/3303/0/5700").locator('button[data-op="cancel"]').click();
  await row("/3303/0/5700").locator('button[data-op="observe"]').waitFor();

  // ---- execute /3/0/4 (reboot): the client comes back with an Update or a Register ----
  const backBefore = await page.locator('[data-testid="events"] li[data-type="update"], [data-testid="events"] li[data-type="registration"]').count();
  await row("/3/0/4").locator('button[data-op="execute"]').click();
  await page.locator('[data-testid="execute-form"] button[type="submit"]').click();
  await page.locator('[data-testid="answers"] li').first().locator('.code:text-is("2.04")').waitFor();
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="events"] li[data-type="update"], [data-testid="events"] li[data-type="registration"]').length > n,
    backBefore,
    { timeout: 15_000 },
  );
  step("executed /3/0/4: the client came back (update/registration event)");

  // ---- security: a PSK with a 128-byte identity and a 64-byte key; a 65-byte key refused ----
  await page.click('header a[href="#/security"]');
  await page.locator('[data-testid="security-form"]').waitFor();
  const identity = "e2e-identity-".padEnd(126, "x") + "é"; // 126 ASCII + one 2-byte character
  expect(Buffer.byteLength(identity, "utf8") === 128, "test identity is not 128 bytes");
  const key64 = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff)).toString("hex");
  const posts = () => requests.filter((r) => r.startsWith("POST ") && r.includes("/api/security")).length;
  await page.fill('input[name="endpoint"]', "e2e-psk-device");
  await page.fill('input[name="identity"]', identity);
  await page.fill('input[name="key"]', key64);
  await page.click('[data-testid="security-form"] button[type="submit"]');
  await page.locator('[data-testid="security-msg"]:text("added")').waitFor();
  await page.locator('[data-testid="security"] td:text-is("e2e-psk-device")').waitFor();
  await page.locator('[data-testid="security"] :text("set (write-only)")').waitFor();
  const postsAfterAdd = posts();
  await page.fill('input[name="endpoint"]', "e2e-psk-device-2");
  await page.fill('input[name="identity"]', "short-id");
  await page.fill('input[name="key"]', key64 + "ab");
  await page.click('[data-testid="security-form"] button[type="submit"]');
  const msg = (await page.locator('[data-testid="error-key"]').innerText()).trim();
  expect(/1 to 64 bytes \(got 65 bytes\)/.test(msg), `unclear message for a 65-byte key: ${msg}`);
  expect(posts() === postsAfterAdd, "the 65-byte key was sent to the server");
  await page.fill('input[name="key"]', "");
  await page.fill('input[name="endpoint"]', "");
  await page.fill('input[name="identity"]', "");
  await page.fill('input[name="key"]', key64 + "ab");
  await page.click('[data-testid="security-form"] button[type="submit"]');
  await page.screenshot({ path: path.join(shots, "security.png") });
  const html = await page.content();
  expect(!html.toLowerCase().includes(key64.slice(0, 32)) || (await page.inputValue('input[name="key"]')).includes(key64.slice(0, 32)), "the stored key is shown on the page");
  const api = await fetch(origin + "/api/security/e2e-psk-device", { headers: { Authorization: "Bearer " + apiToken } }).then((r) => r.json());
  expect(api.psk_identity === identity && api.psk_key === "<set>", `stored credential differs: ${JSON.stringify(api)}`);
  step("PSK 128-byte identity + 64-byte key added; 65-byte key refused in the form");

  // ---- bootstrap: a configuration through the form (a 65-byte key refused first), listed with
  // its status; edited (the write-only key must be typed again); a bad JSON one refused ----
  await page.click('header a[href="#/bootstrap"]');
  const bsForm = page.locator('[data-testid="bootstrap-form"]');
  await bsForm.waitFor();
  const bsWrites = () => requests.filter((r) => /^(POST|PUT) .*\/api\/bootstrap/.test(r)).length;
  const bsKey = "5a".repeat(16);
  await bsForm.locator('input[name="endpoint"]').fill("e2e-bs-device");
  await bsForm.locator('input[name="security.0.uri"]').fill("coaps://127.0.0.1:5684");
  await bsForm.locator('input[name="security.0.identity"]').fill("e2e-bs-device");
  await bsForm.locator('input[name="security.0.keyHex"]').fill("5a".repeat(65));
  await bsForm.locator('[data-testid="add-acl"]').click();
  await bsForm.locator('input[name="acls.0.rights.0.W"]').check();
  await bsForm.locator('button[type="submit"]').click();
  const bsMsg = (await page.locator('[data-testid="error-security.0.keyHex"]').innerText()).trim();
  expect(/PSK key must be 1 to 64 bytes \(got 65 bytes\)/.test(bsMsg), `unclear message for a 65-byte bootstrap key: ${bsMsg}`);
  expect(bsWrites() === 0, "the 65-byte bootstrap key was sent to the server");
  await bsForm.screenshot({ path: path.join(shots, "bootstrap-form.png") });
  await bsForm.locator('input[name="security.0.keyHex"]').fill(bsKey);
  await bsForm.locator('button[type="submit"]').click();
  await page.locator('[data-testid="bootstrap-msg"]:text("Configuration of e2e-bs-device added")').waitFor();
  await page.locator('[data-testid="bootstrap"] td:text-is("e2e-bs-device")').waitFor();
  await page.locator('[data-testid="bootstrap"] td:text-is("never")').waitFor();
  const bsStored = await fetch(origin + "/api/bootstrap/e2e-bs-device", { headers: { Authorization: "Bearer " + apiToken } }).then((r) => r.json());
  // security: the bootstrap-server entry the server reports (NoSec: the form gave none), then ours
  const dmSec = bsStored.security?.find((x) => !x.bootstrap_server);
  expect(dmSec?.psk_key === "<set>" && dmSec.short_server_id === 101 && bsStored.servers?.[0]?.short_server_id === 101
         && bsStored.acls?.[0]?.acl?.["101"] === 3 && !("delete" in bsStored && bsStored.delete.length === 0), `stored configuration differs: ${JSON.stringify(bsStored)}`);
  await page.locator('[data-testid="bootstrap"] button:text-is("Show")').click();
  const shown = await page.locator('[data-testid="bootstrap"] pre').innerText();
  expect(shown.includes('"<set>"') && !shown.includes(bsKey), "a bootstrap key is shown");
  await page.locator('[data-testid="bootstrap"] button:text-is("Hide")').click();
  // edit: loaded into the form, the key is write-only; as JSON it is "<set>" and refused
  await page.locator('[data-testid="bootstrap"] button:text-is("Edit")').click();
  await bsForm.locator('h3:text("Replace the configuration of e2e-bs-device")').waitFor();
  const dmRow = bsStored.security.indexOf(dmSec); // the form lists the instances as GET gave them
  expect((await bsForm.locator(`input[name="security.${dmRow}.keyHex"]`).inputValue()) === "", "the stored key is in the form");
  await bsForm.locator(':text("a key is stored (write-only)")').waitFor();
  await bsForm.locator('[data-testid="json-toggle"]').click();
  expect((await bsForm.locator("textarea").inputValue()).includes('"psk_key": "<set>"'), "the JSON view lost the stored-key marker");
  await bsForm.locator('button[type="submit"]').click();
  await bsForm.locator('[data-testid="bootstrap-errors"] li:text("write-only")').waitFor();
  await bsForm.locator('[data-testid="json-toggle"]').click();
  await bsForm.locator('input[name="servers.0.lifetime"]').fill("600");
  await bsForm.locator(`input[name="security.${dmRow}.keyHex"]`).fill(bsKey);
  await bsForm.locator('button[type="submit"]').click();
  await page.locator('[data-testid="bootstrap-msg"]:text("Configuration of e2e-bs-device replaced")').waitFor();
  await page.locator('[data-testid="bootstrap"] td:text("(600 s, U)")').waitFor();
  // the server refuses a second configuration of the endpoint: its message is shown, the typed
  // key does not stay in the form
  await bsForm.locator('input[name="endpoint"]').fill("e2e-bs-device");
  await bsForm.locator('input[name="security.0.uri"]').fill("coaps://127.0.0.1:5684");
  await bsForm.locator('input[name="security.0.identity"]').fill("e2e-bs-device");
  await bsForm.locator('input[name="security.0.keyHex"]').fill(bsKey);
  await bsForm.locator('button[type="submit"]').click();
  const refused = (await bsForm.locator('[data-testid="bootstrap-failure"]').innerText()).trim();
  expect(refused.length > 0 && !refused.includes(bsKey), `no clear refusal: ${refused}`);
  expect((await bsForm.locator('input[name="security.0.keyHex"]').inputValue()) === "", "the typed key stayed in the form after a refused attempt");
  // a bad configuration in the JSON editor is refused before sending
  const writesBefore = bsWrites();
  await bsForm.locator('[data-testid="json-toggle"]').click();
  await bsForm.locator("textarea").fill('{"endpoint": "bad", "security": [{"uri": "coaps://h:1", "mode": "nosec", "short_server_id": 9}]}');
  await bsForm.locator('button[type="submit"]').click();
  await bsForm.locator('[data-testid="bootstrap-errors"] li:text("coaps:// needs psk")').waitFor();
  expect(bsWrites() === writesBefore, "a bad bootstrap configuration was sent");
  await bsForm.locator('[data-testid="json-toggle"]').click(); // back to the form, from the JSON
  await bsForm.locator('input[name="endpoint"]').fill("e2e-bs-device-2");
  await bsForm.locator('button[type="submit"]').click();
  await bsForm.locator('[data-testid="error-security.0.mode"]:text("coaps:// needs PSK")').waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(shots, "bootstrap.png"), fullPage: true });
  step("bootstrap configuration added through the form (65-byte key refused first), listed, replaced with the key typed again; secrets shown as <set>; bad configurations refused in the form and JSON");

  expect(problems.length === 0, problems.join("\n"));
  for (const f of ["server.err", "client.err"]) {
    const log = fs.readFileSync(path.join(work, f), "utf8").toLowerCase();
    expect(!log.includes(key64), `the PSK key appears in ${f}`);
  }
}

await run.finish(main);
