// The initial sync's physical limit: a process that opens the controller's four watch streams (the same
// paths, selectors, metadata-only Accept headers and streamed initial state) over plain node:https and only
// parses each event, keeping nothing. Started by the benchmark like the controller, with the image's Node.js
// flags; prints one JSON line: time to the end of every stream's initial state, objects parsed, memory.
//   node bench/bare-consumer.ts <kubeconfig>
import https from 'node:https';
import { DRAIN_POD_SELECTOR, STATEFUL_POD_SELECTOR } from '../src/controller/cluster-cache.ts';
import { kubeconfigConfig } from '../src/kube/connection-config.ts';
import { METADATA_ONLY } from '../src/kube/http-client.ts';
import { INITIAL_EVENTS_END } from '../src/kube/informer.ts';
import { memorySplit } from './memory-split.ts';

/** The controller's streams (src/controller/cluster-cache.ts), cluster-wide. */
const streams: Array<{ path: string; labelSelector?: string; accept?: string }> = [
  { path: '/apis/apps/v1/statefulsets' },
  { path: '/api/v1/persistentvolumeclaims', accept: METADATA_ONLY.watch },
  { path: '/api/v1/pods', labelSelector: STATEFUL_POD_SELECTOR, accept: METADATA_ONLY.watch },
  { path: '/api/v1/pods', labelSelector: DRAIN_POD_SELECTOR },
];

const config = kubeconfigConfig([process.argv[2]!]);
const credentials = await config.credentials();
const agent = new https.Agent({ keepAlive: true, ca: config.tls.ca, cert: credentials.cert, key: credentials.key,
  rejectUnauthorized: !config.tls.insecureSkipTlsVerify });

/** Streams one watch until its initial state ends; resolves with the number of objects parsed. */
function initialState(stream: (typeof streams)[number]): Promise<number> {
  const url = new URL(stream.path, config.server);
  const query = { watch: 'true', sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', resourceVersion: '',
    allowWatchBookmarks: 'true', labelSelector: stream.labelSelector };
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  return new Promise((resolve, reject) => {
    const req = https.get(url,
        { agent, headers: { ...credentials.headers, ...(stream.accept ? { Accept: stream.accept } : {}) } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${url.pathname}: HTTP ${res.statusCode}`));
      res.setEncoding('utf8');
      let buffered = '';
      let objects = 0;
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const event = JSON.parse(buffered.slice(0, newline)) as
            { type: string; object: { metadata?: { annotations?: Record<string, string> } } };
          buffered = buffered.slice(newline + 1);
          if (event.type !== 'BOOKMARK') objects++;
          else if (event.object.metadata?.annotations?.[INITIAL_EVENTS_END] === 'true') {
            req.destroy();
            resolve(objects);
            return;
          }
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const start = performance.now();
const counts = await Promise.all(streams.map(initialState));
const ms = performance.now() - start;
const memory = memorySplit(process.pid);
console.log(JSON.stringify({ ms, objects: counts.reduce((a, b) => a + b, 0), ...memory }));
agent.destroy();
