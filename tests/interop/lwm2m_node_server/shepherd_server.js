// coap-shepherd (npm, an LwM2M 1.0-style server of the PeterEB ecosystem) for interop with our
// client daemon, driven by a test over stdin/stdout. Listens on 127.0.0.1:PORT only, keeps its
// NeDB database in DB_DIR (the library's default is inside its own node_modules folder, shared
// between runs).
//   node shepherd_server.js PORT DB_DIR [CODEC_DIR]
// CODEC_DIR: an lwm2m-codec package to use instead of the one coap-shepherd 0.2.5 pins (0.0.8,
// whose TLV decoder throws "Cannot set properties of undefined" on any Object read holding a
// Multiple Resource, e.g. /3 with its mandatory /3/0/11, and so kills the server process).
// lwm2m-codec 0.1.1 (pinned by coap-shepherd 0.2.11, not installable from the npm registry
// alone: it needs node-coap from GitHub) fixes that.
// stdout, one line per event (values JSON-encoded):
//   READY <port>
//   REQUEST <method> <uri-path options> <uri-query options>   (every request a client sends)
//   IND <type> <ep> <data>          (devIncoming, devUpdate, devLeaving, devStatus, devNotify)
//   SHEPHERD-ERROR <message>        (the library's 'error' event)
// stdin, one command per line; each answers "OK <cmd> <result>" or "ERROR <cmd> <message>":
//   read EP PATH | write EP PATH VALUE | execute EP PATH | discover EP PATH |
//   attributes EP PATH k=v[&k=v] | observe EP PATH | observe-via-server EP PATH | list | quit
'use strict';
const path = require('path');
const readline = require('readline');

const [port, dbDir, codecDir] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const base = path.dirname(require.resolve('coap-shepherd'));
const out = (line) => process.stdout.write(line + '\n');
const text = (err) => String((err && err.message) || err);
const json = (v) => JSON.stringify(v === undefined ? null : v);
process.on('uncaughtException', (err) => {
    const where = String((err && err.stack) || err).split('\n').slice(0, 2).join(' ');
    out('CRASH ' + JSON.stringify(where));
    process.exit(70);
});
if (codecDir) {
    const pinned = require.resolve('lwm2m-codec', {paths: [path.join(base, 'lib', 'components')]});
    require(pinned); // fills the cache entry, then point it at the other package
    require.cache[pinned].exports = require(codecDir);
}
// The configuration module is read when the (singleton) shepherd is required: set it first.
const config = require(path.join(base, 'lib', 'config'));
config.ip = '127.0.0.1';
config.port = port;
config.connectionType = 'udp4';
config.reqTimeout = 10;
config.defaultDbFolder = dbDir;
config.defaultDbPath = path.join(dbDir, 'coap.db');
// The coap module instance coap-shepherd itself uses; its server binds every address
// (listen(port, cb)): keep it on 127.0.0.1.
const coap = require(require.resolve('coap', {paths: [base]}));
const listen = coap.createServer.prototype.listen;
coap.createServer.prototype.listen = function (p, address, done) {
    if (typeof address === 'function') {
        done = address;
        address = '127.0.0.1';
    }
    return listen.call(this, p, address || '127.0.0.1', done);
};
const shepherd = require('coap-shepherd');

function answer(cmd) {
    return (result) => out('OK ' + cmd + ' ' + json(result));
}

function command(line) {
    const a = line.trim().split(/\s+/);
    const cmd = a[0];
    const fail = (err) => out('ERROR ' + cmd + ' ' + JSON.stringify(text(err)));
    try {
        if (cmd === 'list') return answer(cmd)(shepherd.list());
        if (cmd === 'quit') {
            return shepherd.stop(() => {
                answer(cmd)('bye');
                process.exit(0);
            });
        }
        const node = shepherd.find(a[1] || '');
        if (!node) return fail('no such client ' + a[1]);
        let p;
        switch (cmd) {
        case 'read': p = node.readReq(a[2]); break;
        case 'write': p = node.writeReq(a[2], a.slice(3).join(' ')); break;
        case 'execute': p = node.executeReq(a[2], []); break;
        case 'discover': p = node.discoverReq(a[2]); break;
        case 'attributes': {
            const attrs = {};
            for (const kv of (a[3] || '').split('&')) {
                const [k, v] = kv.split('=');
                if (k) attrs[k] = Number(v);
            }
            p = node.writeAttrsReq(a[2], attrs);
            break;
        }
        case 'observe': p = node.observeReq(a[2]); break;
        case 'observe-via-server': {
            // What coap-shepherd's Observe would do from its server socket (its agent for every
            // other request): proves that the port is what our client refuses.
            const req = shepherd._agent.request({hostname: node.ip, port: node.port,
                                                 pathname: a[2], method: 'GET', observe: true,
                                                 options: {Accept: 'application/tlv'}});
            p = new Promise((resolve, reject) => {
                req.on('response', (stream) => {
                    stream.on('data', (v) => out('NOTIFY ' + a[1] + ' ' + a[2] + ' ' +
                                                 JSON.stringify(v.toString('hex'))));
                    resolve({status: stream.code,
                             format: stream.headers['Content-Format'] || null});
                });
                req.on('error', reject);
            });
            req.end();
            break;
        }
        default: return fail('unknown command');
        }
        return p.then(answer(cmd), fail);
    } catch (e) {
        return fail(e);
    }
}

shepherd.on('error', (err) => out('SHEPHERD-ERROR ' + JSON.stringify(text(err))));
shepherd.on('ind', (msg) => {
    const ep = typeof msg.cnode === 'string' ? msg.cnode : (msg.cnode && msg.cnode.clientName);
    out('IND ' + msg.type + ' ' + ep + ' ' + json(msg.data));
});
shepherd.on('ready', () => {
    shepherd._server.on('request', (req) => {
        const opts = (name) => (req.options || []).filter((o) => o.name === name)
            .map((o) => Buffer.isBuffer(o.value) ? o.value.toString('utf8') : String(o.value));
        out('REQUEST ' + req.method + ' ' + JSON.stringify(opts('Uri-Path')) + ' ' +
            JSON.stringify(opts('Uri-Query')));
    });
    shepherd.permitJoin(300);
    out('READY ' + port);
    readline.createInterface({input: process.stdin}).on('line', command);
});
shepherd.start((err) => {
    if (err) {
        out('ERROR start ' + JSON.stringify(text(err)));
        process.exit(1);
    }
});
