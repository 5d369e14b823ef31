// Unit tests of the form checks (web/src/validate.ts, compiled by `npm test` into test-build/):
// the Object 0 limits (identity <= 128 bytes as UTF-8, key 1..64 bytes hex), the bootstrap
// configuration rules and the typed value parser. Run: cd web && npm test (ctest web_ui_unit).
import { test } from "node:test";
import assert from "node:assert/strict";
import { bootstrapErrors, credentialErrors, hexError, identityError, parseValue, utf8Bytes } from "../test-build/validate.js";

const psk = (identity, keyHex, extra = {}) => ({ endpoint: "dev", mode: "psk", identity, identityHex: false, keyHex, rpkHex: "", commonName: "", ...extra });

test("PSK key: 1..64 bytes of hex", () => {
  assert.deepEqual(credentialErrors(psk("id", "ab".repeat(64))), {});
  assert.deepEqual(credentialErrors(psk("id", "01")), {});
  assert.match(credentialErrors(psk("id", "ab".repeat(65))).key, /1 to 64 bytes \(got 65 bytes\)/);
  assert.match(credentialErrors(psk("id", "")).key, /required/);
  assert.match(credentialErrors(psk("id", "abc")).key, /odd number/);
  assert.match(credentialErrors(psk("id", "zz")).key, /hexadecimal/);
  assert.deepEqual(credentialErrors(psk("id", "ab:cd ef")), {}, "separators are ignored");
});

test("PSK identity: at most 128 bytes as UTF-8, not 128 characters", () => {
  assert.equal(identityError("x".repeat(128), false), null);
  assert.match(identityError("x".repeat(129), false), /at most 128 bytes.*129/);
  const multi = "é".repeat(65); // 65 characters, 130 bytes
  assert.equal(multi.length, 65);
  assert.equal(utf8Bytes(multi), 130);
  assert.match(identityError(multi, false), /got 130 bytes/);
  assert.equal(identityError("x".repeat(126) + "é", false), null);
  assert.match(identityError("", false), /required/);
  assert.equal(identityError("00ff".repeat(64), true), null);
  assert.match(identityError("00".repeat(129), true), /got 129 bytes/);
});

test("other modes and the endpoint", () => {
  assert.match(credentialErrors(psk("id", "01", { endpoint: " " })).endpoint, /required/);
  assert.deepEqual(credentialErrors(psk("", "", { mode: "nosec" })), {});
  assert.match(credentialErrors(psk("", "", { mode: "rpk" })).rpk, /required/);
  assert.match(credentialErrors(psk("", "", { mode: "x509" })).cn, /common name/);
  assert.equal(hexError("k", "", 0, 4), null);
});

const good = () => ({
  endpoint: "dev9",
  delete: ["/0", "/1/0", "/"],
  security: [
    { instance_id: 0, uri: "coaps://bs:5684", bootstrap_server: true, mode: "psk", psk_identity: "dev9", psk_key_hex: "00".repeat(16) },
    { instance_id: 1, uri: "coaps://dm:5684", mode: "psk", psk_identity: "dev9", generate: { psk_key_bytes: 32 }, short_server_id: 101 },
    { instance_id: 2, uri: "coap://dm2:5683", mode: "nosec", short_server_id: 102 },
  ],
  servers: [
    { instance_id: 0, short_server_id: 101, lifetime: 300, binding: "UQ" },
    { instance_id: 1, short_server_id: 102 },
  ],
  acls: [{ object_id: 3, object_instance_id: 0, acl: { 101: 7 }, owner: 101 }],
});

test("bootstrap configuration: a valid one passes", () => {
  assert.deepEqual(bootstrapErrors(good()), []);
});

test("bootstrap configuration: each rule is enforced", () => {
  const cases = [
    [(c) => (c.security[1].mode = "nosec"), /coaps:\/\/ needs psk/],
    [(c) => (c.security[2].mode = "psk"), /coap:\/\/ needs mode nosec/],
    [(c) => delete c.security[1].generate, /psk needs psk_key_hex or generate/],
    [(c) => (c.security[0].psk_key_hex = "00".repeat(65)), /1 to 64 bytes \(got 65 bytes\)/],
    [(c) => (c.security[1].generate.psk_key_bytes = 8), /psk_key_bytes must be 16..64/],
    [(c) => (c.security[1].short_server_id = 999), /999 has no server instance/],
    [(c) => delete c.security[2].short_server_id, /needs short_server_id/],
    [(c) => (c.servers[1].instance_id = 0), /instance id 0 is used twice/],
    [(c) => (c.servers[0].binding = "X"), /binding/],
    [(c) => (c.acls[0].acl = { 101: 32 }), /rights must be 0..31/],
    [(c) => (c.delete = ["/3/0/1"]), /must be \/, \/o or \/o\/i/],
    [(c) => (c.security[0].uri = "http://x"), /coap:\/\/ or coaps:\/\//],
    [(c) => delete c.endpoint, /endpoint is required/],
    [(c) => (c.security[0].mode = "x509"), /x509 needs public_key_hex and private_key_hex/],
  ];
  for (const [mutate, want] of cases) {
    const c = good();
    mutate(c);
    const errs = bootstrapErrors(c);
    assert.ok(errs.some((e) => want.test(e)), `${want}: got ${JSON.stringify(errs)}`);
  }
  assert.deepEqual(bootstrapErrors([]), ["the configuration must be a JSON object"]);
});

test("typed values follow the model's type", () => {
  assert.deepEqual(parseValue("integer", "-5"), { value: -5 });
  assert.ok(parseValue("integer", "1.5").error);
  assert.ok(parseValue("unsigned", "-1").error);
  assert.deepEqual(parseValue("float", "21.5"), { value: 21.5 });
  assert.ok(parseValue("float", "abc").error);
  assert.deepEqual(parseValue("boolean", "false"), { value: false });
  assert.deepEqual(parseValue("opaque", "0001ff", "hex"), { value: "AAH/" });
  assert.deepEqual(parseValue("opaque", "AAH/", "base64"), { value: "AAH/" });
  assert.ok(parseValue("opaque", "AAH", "base64").error);
  assert.ok(parseValue("opaque", "0g", "hex").error);
  assert.deepEqual(parseValue("objlnk", "3:0"), { value: "3:0" });
  assert.ok(parseValue("objlnk", "3").error);
  assert.deepEqual(parseValue("time", "1700000000"), { value: 1700000000 });
  assert.deepEqual(parseValue("string", " Acme "), { value: " Acme " });
  assert.deepEqual(parseValue("none", "x"), { value: null });
});
