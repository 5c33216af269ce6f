// A watch that goes silent without closing (a half-open connection) is noticed and resumed from the last
// resourceVersion, against a local HTTP server that plays the API server.
import type { V1Pod } from '@kubernetes/client-node';
import { WatchIdleError } from '../../src/kube/http-client.ts';
import { ResilientInformer } from '../../src/kube/informer.ts';
import { fakeApiServer, initialEventsEnd } from './fakes/api-server.ts';
import { quietLogger } from './fakes/cluster.ts';

const pod = (name: string, resourceVersion: string) => ({ metadata: { name, namespace: 'ns', resourceVersion } });

describe('watch idle timeout', () => {
  it('a watch that sends nothing for longer than the idle timeout fails with WatchIdleError', async () => {
    const fake = await fakeApiServer(() => []);
    try {
      const started = Date.now();
      await expect(fake.client.watch('/api/v1/pods', {}, () => {}, new AbortController().signal,
        { idleTimeoutMs: 200 })).rejects.toBeInstanceOf(WatchIdleError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      fake.close();
    }
  });

  it('the informer resumes a silent watch from the last resourceVersion it saw, without a fresh sync, and gets the change', async () => {
    const fake = await fakeApiServer((n) => (n === 1
      ? [{ type: 'ADDED', object: pod('a', '10') }, initialEventsEnd('11')]
      : [{ type: 'ADDED', object: pod('b', '12') }]));
    const seen: string[] = [];
    const informer = new ResilientInformer<V1Pod>(fake.client, '/api/v1/pods', async () => ({ items: [] }),
      (kind, p) => seen.push(`${kind} ${p.metadata?.name}`),
      quietLogger(), { idleTimeoutMs: 300 });
    try {
      await informer.start();
      const deadline = Date.now() + 5_000;
      while (!seen.includes('add b') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual(['add a', 'add b']);
      expect(fake.watches[1]!.get('resourceVersion')).toBe('11');
      expect(fake.watches[1]!.get('sendInitialEvents')).toBeNull();
    } finally {
      await informer.stop();
      fake.close();
    }
  });
});
