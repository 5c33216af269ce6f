// The cache tells the controller of changes only once its first full state is in: the controller looks at
// every set once then, so the events of the initial sync need not each go through the work queue. A stateful
// pod's deletion is told as urgent: it may let a drain start.
import { ClusterCache, STATEFUL_POD_SELECTOR } from '../../src/controller/cluster-cache.ts';
import { KubeApi } from '../../src/kube/api.ts';
import { fakeApiServer, initialEventsEnd } from './fakes/api-server.ts';
import { quietLogger } from './fakes/cluster.ts';

const meta = (name: string, resourceVersion: string) => ({ name, namespace: 'ns', uid: `uid-${name}`, resourceVersion });
const volumeClaimTemplates = [{ metadata: { name: 'data' } }, { metadata: { name: 'logs' } }];

describe('ClusterCache', () => {
  it('says nothing during the initial sync, then tells of every later change', async () => {
    // First watch of each stream: the initial state. The claims' second watch (after a forced reconnect) brings a change.
    const fake = await fakeApiServer((_n, query, path) => {
      if (query.get('sendInitialEvents') !== 'true') return path.endsWith('persistentvolumeclaims')
        ? [{ type: 'ADDED', object: { metadata: meta('data-db-2', '7') } }] : [];
      if (path.endsWith('statefulsets')) {
        const set = { metadata: meta('db', '2'), spec: { replicas: 2, volumeClaimTemplates } };
        return [{ type: 'ADDED', object: set }, initialEventsEnd('3')];
      }
      if (path.endsWith('persistentvolumeclaims')) return ['logs-db-0', 'data-db-0', 'data-db-1', 'other-db-0'].map((name, i) =>
        ({ type: 'ADDED', object: { metadata: meta(name, String(4 + i)) } })).concat([initialEventsEnd('9')] as never[]);
      return [initialEventsEnd('6')];
    });
    const told: string[] = [];
    const cache = new ClusterCache(fake.client, new KubeApi(fake.client, { qps: 0, burst: 1 }), { namespaces: [], watchIdleTimeoutMs: 300 },
      (key) => told.push(key), quietLogger());
    try {
      await cache.start();
      // The claims the set's templates spell, in the templates' order; not another template's.
      expect(cache.claimsFor('ns/db').map((c) => c.metadata?.name)).toEqual(['data-db-0', 'data-db-1', 'logs-db-0']);
      expect(cache.claimsFor('ns/other')).toEqual([]);
      expect(told).toEqual([]);
      // The silent claim watch is resumed after its idle timeout and brings a new claim of the set.
      const deadline = Date.now() + 5_000;
      while (!told.includes('ns/db') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(told).toContain('ns/db');
    } finally {
      await cache.stop();
      fake.close();
    }
  });

  it('tells a stateful pod\'s deletion as urgent, and other changes as not', async () => {
    const statefulPods = (query: URLSearchParams) => query.get('labelSelector') === STATEFUL_POD_SELECTOR;
    // After the initial state, each silent watch is resumed after its idle timeout: the stateful pods' brings
    // db-1's deletion, the claims' a change of data-db-0.
    const fake = await fakeApiServer((_n, query, path) => {
      const initial = query.get('sendInitialEvents') === 'true';
      if (path.endsWith('statefulsets')) return initial ? [{ type: 'ADDED', object: { metadata: meta('db', '2'), spec: { replicas: 1 } } },
        initialEventsEnd('3')] : [];
      if (path.endsWith('persistentvolumeclaims')) {
        return initial ? [{ type: 'ADDED', object: { metadata: meta('data-db-0', '4') } }, initialEventsEnd('6')]
          : [{ type: 'MODIFIED', object: { metadata: meta('data-db-0', '8') } }];
      }
      if (statefulPods(query)) {
        return initial ? [0, 1].map((o) => ({ type: 'ADDED', object: { metadata: meta(`db-${o}`, '5') } }))
          .concat([initialEventsEnd('6')] as never[])
          : [{ type: 'DELETED', object: { metadata: meta('db-1', '9') } }];
      }
      return initial ? [initialEventsEnd('6')] : [];
    });
    const told: Array<[string, boolean]> = [];
    const cache = new ClusterCache(fake.client, new KubeApi(fake.client, { qps: 0, burst: 1 }), { namespaces: [], watchIdleTimeoutMs: 300 },
      (key, urgent) => told.push([key, urgent]), quietLogger());
    try {
      await cache.start();
      const deadline = Date.now() + 5_000;
      while (told.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(told).toEqual(expect.arrayContaining([['ns/db', true], ['ns/db', false]]));
      expect(told).toHaveLength(2);
      expect(cache.podsFor('ns/db').map((p) => p.metadata?.name)).toEqual(['db-0']);
    } finally {
      await cache.stop();
      fake.close();
    }
  });
});
