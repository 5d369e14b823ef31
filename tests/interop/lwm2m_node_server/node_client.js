// lwm2m-node-lib's LwM2M 1.0 client (NoSec) registering with lwm2m-server: prints REGISTERED
// (with the location) once registered, answers the server's requests from its object registry
// (/3/0: 0 Manufacturer, 1 Model Number), de-registers on SIGTERM and prints DEREGISTERED.
//   node node_client.js HOST PORT ENDPOINT
'use strict';
const lwm2m = require('lwm2m-node-lib');
const client = lwm2m.client;
const [host, port, ep] = process.argv.slice(2);
const config = {client: {lifetime: '60', version: '1.0', logLevel: 'FATAL', ipProtocol: 'udp4',
                         observe: {period: 3000}}};

function fail(what, err) {
    console.log('ERROR ' + what + ' ' + (err && err.message ? err.message : String(err)));
    process.exit(1);
}

client.init(config);
client.registry.create('/3/0', (err) => {
    if (err) fail('create', err);
    client.registry.setResource('/3/0', '0', 'lwm2m-node-lib', (e1) => {
        if (e1) fail('set', e1);
        client.registry.setResource('/3/0', '1', 'node-client', (e2) => {
            if (e2) fail('set', e2);
            client.register(host, Number(port), '', ep, (e3, device) => {
                if (e3) fail('register', e3);
                console.log('REGISTERED ' + device.location);
                process.on('SIGTERM', () => {
                    client.unregister(device, (e4) => {
                        console.log(e4 ? 'ERROR unregister' : 'DEREGISTERED');
                        process.exit(e4 ? 1 : 0);
                    });
                });
            });
        });
    });
});
