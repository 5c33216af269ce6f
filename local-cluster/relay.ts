// A byte relay between two endpoints, each `tcp:<host>:<port>` or `unix:<path>`. The real node lives in a
// network namespace of the harness's own; two relays joined by a unix socket (the filesystem is shared
// across namespaces) carry the API server's port from inside it to this machine's loopback, so every byte
// stays on loopback or inside the harness's namespace.
//   node relay.ts <listen> <target>
import net from 'node:net';
import { rmSync } from 'node:fs';

type Endpoint = { path: string } | { host: string; port: number };

function endpoint(text: string): Endpoint {
  if (text.startsWith('unix:')) return { path: text.slice(5) };
  const match = /^tcp:(.+):(\d+)$/.exec(text);
  if (!match) throw new Error(`not an endpoint: ${text} (want tcp:<host>:<port> or unix:<path>)`);
  return { host: match[1]!, port: Number(match[2]) };
}

const [listenText, targetText] = process.argv.slice(2);
if (!listenText || !targetText) {
  console.error('usage: relay.ts <listen> <target>');
  process.exit(2);
}
const listen = endpoint(listenText);
const target = endpoint(targetText);
if ('path' in listen) rmSync(listen.path, { force: true });
const server = net.createServer((client) => {
  const upstream = net.connect(target as net.NetConnectOpts);
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
});
server.listen(listen as net.ListenOptions, () => console.log(`relaying ${listenText} -> ${targetText}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
