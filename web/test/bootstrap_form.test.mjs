// Unit tests of the bootstrap configuration form (web/src/bootstrapForm.ts): form <-> JSON
// mapping (what "Edit as JSON" shows and what is POSTed / PUT), the per-field checks, and the
// write-only secrets of a loaded configuration. Run: cd web && npm test (ctest web_ui_unit).
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkForm, configFromForm, emptyForm, formErrors, formFromConfig, KEY_AGAIN, newAcl, newSecurity, newServer } from "../test-build/bootstrapForm.js";
import { bootstrapErrors } from "../test-build/validate.js";

// A configuration using every field the REST API accepts (docs/openapi.json BootstrapConfig).
const full = () => ({
  endpoint: "dev9",
  delete: ["/0", "/1/0"],
  format: "senml-cbor",
  security: [
    { instance_id: 0, uri: "coaps://bs:5684", bootstrap_server: true, mode: "psk", psk_identity: "dev9", psk_key_hex: "00".repeat(16), client_hold_off: 5 },
    { instance_id: 1, uri: "coaps://dm:5684", bootstrap_server: false, mode: "psk", psk_identity: "dev9-", generate: { psk_key_bytes: 32, psk_identity_bytes: 40 }, short_server_id: 101 },
    { instance_id: 2, uri: "coap://dm2:5683", bootstrap_server: false, mode: "nosec", short_server_id: 102 },
    { instance_id: 3, uri: "coaps://dm3:5684", bootstrap_server: false, mode: "rpk", public_key_hex: "3059", private_key_hex: "3077", server_public_key_hex: "3059aa", short_server_id: 103 },
    { instance_id: 4, uri: "coaps://dm4:5684", bootstrap_server: false, mode: "psk", psk_identity_hex: "00ff10", psk_key_hex: "0102", short_server_id: 104 },
  ],
  servers: [
    { instance_id: 0, short_server_id: 101, lifetime: 300, binding: "UQ", default_min_period: 10, default_max_period: 60, disable_timeout: 86400, notification_storing: false },
    { instance_id: 1, short_server_id: 102, notification_storing: true },
    { instance_id: 2, short_server_id: 103, notification_storing: true },
    { instance_id: 3, short_server_id: 104, notification_storing: true },
  ],
  acls: [{ instance_id: 0, object_id: 3, object_instance_id: 0, acl: { 101: 7, 102: 1 }, owner: 101 }],
});

test("form <-> JSON: a full configuration round-trips unchanged", () => {
  const c = full();
  assert.deepEqual(bootstrapErrors(c), []);
  const f = formFromConfig(c);
  assert.deepEqual(formErrors(f), {});
  assert.deepEqual(configFromForm(f), c);
  assert.deepEqual(configFromForm(formFromConfig(configFromForm(f))), c, "JSON -> form -> JSON -> form -> JSON");
  assert.equal(f.security[4].identityHex, true);
  assert.equal(f.security[1].generate, true);
  assert.deepEqual(f.acls[0].rights, [{ ssid: "101", bits: 7 }, { ssid: "102", bits: 1 }]);
});

test("delete list: absent = default '/', [] = nothing, a list", () => {
  const f = emptyForm();
  f.endpoint = "d";
  f.security = [{ ...newSecurity(0, true), uri: "coap://bs", mode: "nosec" }];
  f.servers = [];
  assert.equal("delete" in configFromForm(f), false, "default: the key is left out (the server deletes /)");
  f.deleteMode = "none";
  assert.deepEqual(configFromForm(f).delete, []);
  f.deleteMode = "list";
  f.deletePaths = "/0 /1/0,  /5";
  assert.deepEqual(configFromForm(f).delete, ["/0", "/1/0", "/5"]);
  f.deletePaths = "/3/0/1";
  assert.match(formErrors(f).delete, /not \/, \/object or \/object\/instance/);
  assert.equal(formFromConfig({ endpoint: "d" }).deleteMode, "default");
  assert.equal(formFromConfig({ endpoint: "d", delete: [] }).deleteMode, "none");
  assert.equal(formFromConfig({ endpoint: "d", delete: ["/"] }).deletePaths, "/");
});

test("PSK fields: 65-byte key refused next to the field, identity <= 128 bytes UTF-8", () => {
  const f = formFromConfig(full());
  f.security[0].keyHex = "ab".repeat(65);
  assert.match(formErrors(f)["security.0.keyHex"], /PSK key must be 1 to 64 bytes \(got 65 bytes\)/);
  f.security[0].keyHex = "ab".repeat(64);
  f.security[0].identity = "x".repeat(126) + "é";
  assert.deepEqual(formErrors(f), {});
  f.security[0].identity = "x".repeat(127) + "é";
  assert.match(formErrors(f)["security.0.identity"], /at most 128 bytes as UTF-8 \(got 129 bytes\)/);
  f.security[0].identity = "";
  assert.match(formErrors(f)["security.0.identity"], /required/);
  const { fields, general } = checkForm(f);
  assert.ok(fields["security.0.identity"] && general.length === 0, "nothing is sent while a field is wrong");
});

test("generate: lengths and the identity prefix rule of the server", () => {
  const f = formFromConfig(full());
  f.security[1].genKeyBytes = "8";
  assert.match(formErrors(f)["security.1.genKeyBytes"], /16 to 64/);
  f.security[1].genKeyBytes = "64";
  f.security[1].identity = "p".repeat(30);
  f.security[1].genIdentityBytes = "32";
  assert.match(formErrors(f)["security.1.genIdentityBytes"], /16 random characters after the 30-byte/);
  assert.ok(bootstrapErrors(configFromForm(f)).some((e) => /16 random characters/.test(e)), "the JSON check says the same");
  f.security[1].identity = "";
  assert.deepEqual(formErrors(f), {}, "with generate the identity prefix is optional");
  assert.equal("psk_identity" in configFromForm(f).security[1], false);
});

test("secrets of a loaded configuration: '<set>' is kept as a marker and asked for again", () => {
  const stored = full();
  stored.security[0].psk_key = "<set>";
  delete stored.security[0].psk_key_hex;
  stored.security[3].private_key = "<set>";
  delete stored.security[3].private_key_hex;
  stored.security[0].psk_identity_hex = "64657639"; // GET gives both forms of a printable identity
  const f = formFromConfig(stored);
  assert.equal(f.security[0].keySet, true);
  assert.equal(f.security[0].keyHex, "");
  assert.equal(f.security[0].identityHex, false);
  const e = formErrors(f);
  assert.equal(e["security.0.keyHex"], KEY_AGAIN);
  assert.equal(e["security.3.privateKeyHex"], KEY_AGAIN);
  const j = configFromForm(f);
  assert.equal(j.security[0].psk_key, "<set>", "form -> JSON keeps the marker");
  assert.equal(formFromConfig(j).security[0].keySet, true, "and JSON -> form reads it back");
  assert.ok(bootstrapErrors(j).some((x) => /stored psk_key is write-only/.test(x)));
  assert.ok(bootstrapErrors(j).some((x) => /stored private_key is write-only/.test(x)));
  assert.ok(bootstrapErrors(stored).some((x) => /not both/.test(x)), "GET's identity pair is refused as the server would");
  f.security[0].keyHex = "11".repeat(16);
  f.security[3].privateKeyHex = "3077";
  assert.deepEqual(formErrors(f), {});
  assert.equal(configFromForm(f).security[0].psk_key_hex, "11".repeat(16));
  assert.equal("psk_key" in configFromForm(f).security[0], false);
});

test("cross-field rules: scheme vs mode, server references, duplicates, ACL rights", () => {
  const cases = [
    [(f) => (f.security[2].mode = "psk"), "security.2.mode", /coap:\/\/ \(no DTLS\) needs NoSec/],
    [(f) => (f.security[1].mode = "nosec"), "security.1.mode", /coaps:\/\/ needs PSK/],
    [(f) => (f.security[1].uri = "http://x"), "security.1.uri", /coap:\/\/ or coaps:\/\//],
    [(f) => (f.security[1].shortServerId = "999"), "security.1.shortServerId", /999 has no server instance/],
    [(f) => (f.security[2].shortServerId = ""), "security.2.shortServerId", /required/],
    [(f) => (f.servers[1].instanceId = "0"), "servers.1.instanceId", /used twice/],
    [(f) => (f.servers[1].shortServerId = "101"), "servers.1.shortServerId", /two server instances/],
    [(f) => (f.servers[0].binding = "X"), "servers.0.binding", /U, T, S, N, Q/],
    [(f) => (f.servers[0].lifetime = "0"), "servers.0.lifetime", /1 to/],
    [(f) => (f.servers[0].pmax = "5"), "servers.0.pmax", /below default pmin/],
    [(f) => (f.security[0].clientHoldOff = "-1"), "security.0.clientHoldOff", /whole number/],
    [(f) => (f.security[0].instanceId = "65535"), "security.0.instanceId", /0 to 65534/],
    [(f) => (f.acls[0].owner = ""), "acls.0.owner", /required/],
    [(f) => f.acls[0].rights.push({ ssid: "101", bits: 1 }), "acls.0.rights.2", /listed twice/],
    [(f) => (f.security[3].publicKeyHex = ""), "security.3.publicKeyHex", /required/],
    [(f) => (f.endpoint = " "), "endpoint", /required/],
  ];
  for (const [mutate, key, want] of cases) {
    const f = formFromConfig(full());
    mutate(f);
    const e = formErrors(f);
    assert.match(e[key] ?? "", want, `${key}: got ${JSON.stringify(e)}`);
  }
});

test("new rows and ACL checkboxes map to the API's numbers", () => {
  const f = emptyForm();
  f.endpoint = "dev-new";
  f.security[0] = { ...newSecurity(0), uri: "coaps://dm:5684", identity: "dev-new", keyHex: "0102030405060708090a0b0c0d0e0f10" };
  f.servers = [newServer(0)];
  f.acls = [newAcl(0)];
  f.acls[0].rights[0].bits = 1 | 2 | 16; // R, W, C
  const { fields, general, config } = checkForm(f);
  assert.deepEqual(fields, {});
  assert.deepEqual(general, []);
  assert.deepEqual(config.acls, [{ instance_id: 0, object_id: 3, object_instance_id: 0, acl: { 101: 19 }, owner: 101 }]);
  assert.deepEqual(config.servers, [{ instance_id: 0, short_server_id: 101, lifetime: 86400, binding: "U", notification_storing: true }]);
  assert.deepEqual(config.security[0], {
    instance_id: 0, uri: "coaps://dm:5684", bootstrap_server: false, mode: "psk", psk_identity: "dev-new",
    psk_key_hex: "0102030405060708090a0b0c0d0e0f10", short_server_id: 101,
  });
  f.security[0].keyHex = "01 02:03";
  assert.equal(configFromForm(f).security[0].psk_key_hex, "010203", "separators are dropped");
});
