// lwm2m-node-lib's LwM2M 1.0 SERVER (NoSec) for interop with our client daemon, driven by a test
// over stdin/stdout. Listens on 127.0.0.1:PORT only.
//   node node_server.js PORT [WRITE_FORMAT]
// stdout, one line per event (values JSON-encoded):
//   READY <port>
//   REGISTERED <ep> <lifetime> <version> <binding> <payload>
//   REQUEST <method> <uri-path options as a JSON array> <uri-query options as a JSON array>
//       (every request the server receives from a client: how the client echoes Location-Path)
//   UPDATED <ep> <lifetime>
//   UNREGISTERED <ep>          (a De-register)
//   EXPIRED <ep>               (the server's lifetime check dropped the device)
//   NOTIFY <ep> <path> <value> (an observation's notification)
// stdin, one command per line; each answers "OK <cmd> <result>" or "ERROR <cmd> <code> <message>":
//   read EP O I R | write EP O I R VALUE | execute EP O I R | discover EP O [I [R]]
//   attributes EP O I R k=v[&k=v] | observe EP O I R | device EP | format NAME | quit
//   (format: the Content-Format name the next Writes use)
// WRITE_FORMAT (default text/plain): the Content-Format of Writes and Executes. The library's own
// default is "lightweightm2m/text" (1541, a pre-release LwM2M number no LwM2M 1.0 client knows).
'use strict';
const path = require('path');
const readline = require('readline');
const lwm2m = require('lwm2m-node-lib');
// The coap module instance lwm2m-node-lib itself uses.
const libDir = path.dirname(require.resolve('lwm2m-node-lib'));
const coap = require(require.resolve('coap', {paths: [libDir]}));

const port = Number(process.argv[2]);
const writeFormat = process.argv[3] || 'text/plain';

// The library binds its CoAP server to every address (listen(port, cb)): keep it on 127.0.0.1.
const listen = coap.createServer.prototype.listen;
coap.createServer.prototype.listen = function (p, address, done) {
    if (typeof address === 'function') {
        done = address;
        address = '127.0.0.1';
    }
    return listen.call(this, p, address || '127.0.0.1', done);
};

const server = lwm2m.server;
const out = (line) => process.stdout.write(line + '\n');
const config = {port: port, udpWindow: 100, logLevel: 'FATAL', ipProtocol: 'udp4',
                serverProtocol: 'udp4', writeFormat: writeFormat, lifetimeCheckInterval: 500,
                defaultType: 'Device', types: []};

function withDevice(ep, cb, done) {
    server.getDevice(ep, (err, dev) => (err ? done(err) : cb(dev)));
}

function answer(cmd) {
    return (err, result) => {
        if (err) {
            out('ERROR ' + cmd + ' ' + (err.code || err.name || '?') + ' ' +
                JSON.stringify(err.message || String(err)));
        } else {
            out('OK ' + cmd + ' ' + JSON.stringify(result === undefined ? null : result));
        }
    };
}

function command(line) {
    const a = line.trim().split(/\s+/);
    const cmd = a[0];
    const done = answer(cmd);
    try {
        switch (cmd) {
        case 'read':
            return withDevice(a[1], (d) => server.read(d.id, a[2], a[3], a[4], done), done);
        case 'write':
            return withDevice(a[1], (d) => server.write(d.id, a[2], a[3], a[4],
                                                        a.slice(5).join(' '), done), done);
        case 'execute':
            return withDevice(a[1], (d) => server.execute(d.id, a[2], a[3], a[4], '', done), done);
        case 'discover':
            return withDevice(a[1], (d) => {
                if (a.length >= 5) server.discover(d.id, a[2], a[3], a[4], done);
                else if (a.length === 4) server.discover(d.id, a[2], a[3], done);
                else server.discover(d.id, a[2], done);
            }, done);
        case 'attributes': {
            const attrs = {};
            for (const kv of (a[5] || '').split('&')) {
                const [k, v] = kv.split('=');
                if (k) attrs[k] = v;
            }
            return withDevice(a[1], (d) => server.writeAttributes(d.id, a[2], a[3], a[4], attrs,
                                                                  done), done);
        }
        case 'observe':
            return withDevice(a[1], (d) => server.observe(d.id, a[2], a[3], a[4],
                (value, o, i, r) => out('NOTIFY ' + a[1] + ' /' + o + '/' + i + '/' + r + ' ' +
                                        JSON.stringify(value)), done), done);
        case 'device':
            return withDevice(a[1], (d) => done(null, {id: d.id, name: d.name,
                                                       lifetime: d.lifetime, path: d.path}), done);
        case 'format':
            config.writeFormat = a[1]; // the library reads it at each request
            return done(null, a[1]);
        case 'quit':
            return server.stop(info, () => {
                done(null, 'bye');
                process.exit(0);
            });
        default:
            return done(new Error('unknown command'));
        }
    } catch (e) {
        return done(e);
    }
}

let info = null;
server.start(config, (err, serverInfo) => {
    if (err) {
        out('ERROR start ' + JSON.stringify(String(err)));
        process.exit(1);
    }
    info = serverInfo;
    // What the client sends, option by option (node-coap joins Uri-Path options with '/', so
    // req.url alone cannot tell "rd/1" from "rd","1").
    serverInfo.server.on('request', (req) => {
        if (req.method !== 'POST' && req.method !== 'DELETE') return;
        const opts = (name) => (req.options || []).filter((o) => o.name === name)
            .map((o) => Buffer.isBuffer(o.value) ? o.value.toString('utf8') : String(o.value));
        out('REQUEST ' + req.method + ' ' + JSON.stringify(opts('Uri-Path')) + ' ' +
            JSON.stringify(opts('Uri-Query')));
    });
    server.setHandler(serverInfo, 'registration', (ep, lt, version, binding, payload, cb) => {
        out('REGISTERED ' + ep + ' ' + lt + ' ' + version + ' ' + binding + ' ' +
            JSON.stringify(payload));
        cb();
    });
    server.setHandler(serverInfo, 'updateRegistration', (obj, payload, cb) => {
        out('UPDATED ' + obj.name + ' ' + obj.lifetime);
        cb();
    });
    server.setHandler(serverInfo, 'unregistration', (obj, cb) => {
        out('UNREGISTERED ' + obj.name);
        cb();
    });
    // setHandler('unregistration') restarted the lifetime check with an undefined interval and the
    // De-register handler: restart it with ours, telling expiries apart.
    server.getRegistry().checkLifetime(500, (obj, cb) => {
        out('EXPIRED ' + obj.name);
        cb();
    });
    out('READY ' + port);
    readline.createInterface({input: process.stdin}).on('line', command);
});
