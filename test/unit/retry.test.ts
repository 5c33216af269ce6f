// Transient API failures are sent again only when that is safe, after the server's Retry-After or a
// jittered backoff, a bounded number of times.
import { KubeApi } from '../../src/kube/api.ts';
import type { KubeHttpClient } from '../../src/kube/http-client.ts';
import { ApiError } from '../../src/kube/http-client.ts';
import { DEFAULT_RETRY, retryDelayMs, type RetryPolicy } from '../../src/kube/retry.ts';

const policy: RetryPolicy = { attempts: 4, baseMs: 1, maxMs: 2, maxRetryAfterMs: 100 };

function api(retries: Array<{ verb: string; code: number; delayMs: number }>) {
  return new KubeApi({} as KubeHttpClient,
    { qps: 0, burst: 1, retry: policy, onRetry: (verb, _resource, code, delayMs) => retries.push({ verb, code, delayMs }) });
}

/** A request that fails with `errors` in turn, then answers 'ok'. */
function flaky(...errors: ApiError[]) {
  const sent: number[] = [];
  return {
    sent,
    send: async () => {
      sent.push(Date.now());
      const err = errors.shift();
      if (err) throw err;
      return 'ok';
    },
  };
}

describe('KubeApi retries', () => {
  it('429 is retried for any verb, after the Retry-After the server asked for', async () => {
    const retries: Array<{ verb: string; code: number; delayMs: number }> = [];
    const req = flaky(new ApiError(429, 'too many requests', 'TooManyRequests', 40));
    await expect(api(retries).call('create', 'pods', req.send)).resolves.toBe('ok');
    expect(retries).toEqual([{ verb: 'create', code: 429, delayMs: 40 }]);
    expect(req.sent[1]! - req.sent[0]!).toBeGreaterThanOrEqual(39);
  });

  it.each(['get', 'list', 'delete', 'patch', 'update'])('5xx and broken connections are retried for %s (safe to repeat)', async (verb) => {
    const req = flaky(new ApiError(503, 'unavailable'), new ApiError(0, 'socket hang up'), new ApiError(500, 'internal'));
    await expect(api([]).call(verb, 'pods', req.send)).resolves.toBe('ok');
    expect(req.sent).toHaveLength(4);
    const gateways = flaky(new ApiError(502, 'bad gateway'), new ApiError(504, 'gateway timeout'));
    await expect(api([]).call(verb, 'pods', gateways.send)).resolves.toBe('ok');
    expect(gateways.sent).toHaveLength(3);
  });

  it('the fence is asked right before every attempt: a write whose retry comes after the fence closed is not sent again', async () => {
    let open = true;
    const fenced = new KubeApi({} as KubeHttpClient, {
      qps: 0, burst: 1, retry: policy, fence: () => {
        if (!open) throw new Error('fenced');
      },
    });
    const req = flaky(new ApiError(503, 'unavailable'));
    // As the HTTP client does: beforeSend right before the request is written.
    const sent = fenced.call('delete', 'persistentvolumeclaims', async (beforeSend) => {
      beforeSend();
      open = false; // leadership lapses while the first attempt is out
      return req.send();
    });
    await expect(sent).rejects.toThrow('fenced');
    expect(req.sent).toHaveLength(1);
  });

  it('a create that may have landed (5xx, broken connection) is not repeated', async () => {
    for (const err of [new ApiError(500, 'internal'), new ApiError(0, 'ECONNRESET')]) {
      const req = flaky(err);
      await expect(api([]).call('create', 'pods', req.send)).rejects.toBe(err);
      expect(req.sent).toHaveLength(1);
    }
  });

  it('gives up after the last attempt, and never retries a refusal (404, 409, 422) or an over-long Retry-After', async () => {
    const always = new ApiError(503, 'unavailable');
    const req = flaky(always, always, always, always, always);
    await expect(api([]).call('get', 'pods', req.send)).rejects.toBe(always);
    expect(req.sent).toHaveLength(policy.attempts);
    for (const err of [new ApiError(404, 'gone'), new ApiError(409, 'conflict'), new ApiError(422, 'invalid'),
        new ApiError(429, 'later', undefined, 60_000)]) {
      const once = flaky(err);
      await expect(api([]).call('delete', 'pods', once.send)).rejects.toBe(err);
      expect(once.sent).toHaveLength(1);
    }
  });

  it('backs off exponentially with full jitter, capped', () => {
    const wide: RetryPolicy = { attempts: 10, baseMs: 100, maxMs: 1_000, maxRetryAfterMs: 0 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, new ApiError(503, ''), wide, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(retryDelayMs(3, new ApiError(503, ''), wide, () => 0.5)).toBe(200);
  });

  it('an error that is not the API server\'s answer (the fence\'s refusal, a bug) is never retried', async () => {
    const refusal = new Error('not the leader');
    const req = flaky(refusal as ApiError);
    await expect(api([]).call('get', 'pods', req.send)).rejects.toBe(refusal);
    expect(req.sent).toHaveLength(1);
  });

  it('honours a Retry-After of exactly the longest it accepts', () => {
    expect(retryDelayMs(1, new ApiError(429, 'later', undefined, policy.maxRetryAfterMs), policy)).toBe(policy.maxRetryAfterMs);
    expect(retryDelayMs(1, new ApiError(429, 'later', undefined, policy.maxRetryAfterMs + 1), policy)).toBeUndefined();
  });

  it('without a policy of its own, the client retries a transient failure (the default: 5 attempts)', async () => {
    const always = new ApiError(503, 'unavailable');
    const req = flaky(always, always, always, always);
    await expect(new KubeApi({} as KubeHttpClient, { qps: 0, burst: 1 }).call('get', 'pods', req.send)).resolves.toBe('ok');
    expect(req.sent).toHaveLength(DEFAULT_RETRY.attempts);
  }, 30_000);
});
