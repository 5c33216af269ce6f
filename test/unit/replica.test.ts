// The replica `run` starts is assembled with the leader's write fence: while another replica holds the lease,
// no write but the lease's own leaves the process (the fence's own timing is in retry.test.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { addRunOptions, type RunOptions } from '../../src/cli/options.ts';
import { Replica } from '../../src/cli/replica.ts';
import { leaderWriteFence } from '../../src/cli/write-fence.ts';
import { NotLeaderError } from '../../src/controller/errors.ts';

let server: http.Server;
let kubeconfig: string;
const received: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received.push(`${req.method} ${req.url?.split('?')[0]}`);
    req.resume();
    req.on('end', () => res.writeHead(req.method === 'POST' ? 201 : 200, { 'Content-Type': 'application/json' }).end('{"metadata":{}}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kubeconfig = path.join(mkdtempSync(path.join(os.tmpdir(), 'sdc-replica-')), 'kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify({
    'clusters': [{ name: 'c', cluster: { server: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` } }],
    'users': [{ name: 'u', user: {} }],
    'contexts': [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'ops' } }],
    'current-context': 'x',
  }));
});
afterAll(() => server.close());
beforeEach(() => {
  received.length = 0;
});

function replica(...flags: string[]): Replica {
  const command = addRunOptions(new Command()).exitOverride();
  command.parse([`--kubeconfig=${kubeconfig}`, '--log-level=error', ...flags], { from: 'user' });
  return new Replica(command.opts<RunOptions>(), 'test_1');
}

const writes = (api: Replica['api']) => ({
  'create pod': () => api.createPod({ metadata: { namespace: 'shop', name: 'vault-2' } }),
  'delete pod': () => api.deletePod('shop', 'vault-2', 'u1'),
  'delete claim': () => api.deleteClaim('shop', 'data-vault-2', 'c1', '7'),
  'patch claim': () => api.annotateClaim('shop', 'data-vault-2', 'c1', { x: 'y' }, '7'),
  'set finalizers': () => api.setFinalizers('shop', 'vault', '7', []),
  'create event': () => api.createEvent({ metadata: { namespace: 'shop', name: 'e' }, eventTime: '2026-12-03T00:00:00.000000Z' }),
});

describe('with --leader-elect, before this replica holds the lease', () => {
  it.each(Object.keys(writes({} as Replica['api'])))('%s: refused in the process, nothing sent', async (write) => {
    const { api, elector } = replica();
    expect(elector?.isLeader()).toBe(false);
    await expect(writes(api)[write as keyof ReturnType<typeof writes>]()).rejects.toBeInstanceOf(NotLeaderError);
    expect(received).toEqual([]);
  });

  it('reads, and the lease writes it needs to become leader, are sent', async () => {
    const { api } = replica();
    await api.getPod('shop', 'vault-2');
    await api.createLease({ metadata: { namespace: 'ops', name: 'statefulset-drain-controller' } });
    await api.replaceLease({ metadata: { namespace: 'ops', name: 'statefulset-drain-controller' } });
    expect(received).toEqual([
      'GET /api/v1/namespaces/shop/pods/vault-2',
      'POST /apis/coordination.k8s.io/v1/namespaces/ops/leases',
      'PUT /apis/coordination.k8s.io/v1/namespaces/ops/leases/statefulset-drain-controller',
    ]);
  });
});

it('with --leader-elect=false the single replica writes', async () => {
  const { api, elector } = replica('--leader-elect=false');
  expect(elector).toBeUndefined();
  await api.createPod({ metadata: { namespace: 'shop', name: 'vault-2' } });
  await api.deleteClaim('shop', 'data-vault-2', 'c1', '7');
  expect(received).toEqual(['POST /api/v1/namespaces/shop/pods', 'DELETE /api/v1/namespaces/shop/persistentvolumeclaims/data-vault-2']);
});

it('the fence refuses every write verb on anything but leases (and permission reviews) unless leading', () => {
  const following = leaderWriteFence(() => false);
  expect(() => following('create', 'selfsubjectaccessreviews')).not.toThrow();
  for (const verb of ['create', 'update', 'patch', 'delete']) {
    expect(() => following(verb, 'statefulsets')).toThrow(NotLeaderError);
    expect(() => following(verb, 'persistentvolumes')).toThrow(NotLeaderError);
    expect(() => following(verb, 'leases')).not.toThrow();
  }
  for (const verb of ['get', 'list', 'watch']) expect(() => following(verb, 'persistentvolumeclaims')).not.toThrow();
  expect(() => leaderWriteFence(() => true)('delete', 'persistentvolumeclaims')).not.toThrow();
});
