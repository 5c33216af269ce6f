// The API server's clock as the controller knows it: bounded by each response's Date header, carried on the
// monotonic clock, never moved by this process's wall clock and never run backwards.
import http from 'node:http';
import type net from 'node:net';
import { KubeHttpClient } from '../../src/kube/http-client.ts';
import { ServerClock } from '../../src/kube/server-clock.ts';

const SERVER = Date.parse('2026-06-01T12:00:00Z');
const header = (ms: number) => new Date(ms).toUTCString();

function clocks() {
  let mono = 1_000;
  let wall = SERVER + 600_000; // this process's wall clock: ten minutes ahead of the API server's
  const clock = new ServerClock(() => mono, () => wall);
  return { clock, tick: (ms: number) => { mono += ms; wall += ms; }, stepWall: (ms: number) => { wall += ms; }, mono: () => mono };
}

describe('ServerClock', () => {
  it('before any response it is this process\'s wall clock', () => {
    const { clock } = clocks();
    expect(clock.now()).toBe(SERVER + 600_000);
  });

  it('after a response: the server\'s time to within the second its Date header allows, whatever this process\'s clock says', () => {
    const { clock, tick, mono } = clocks();
    const sent = mono();
    tick(40);
    clock.observe(header(SERVER), sent, mono());
    expect(Math.abs(clock.now() - SERVER)).toBeLessThanOrEqual(1_000);
    tick(3_600_000);
    expect(Math.abs(clock.now() - (SERVER + 3_600_000))).toBeLessThanOrEqual(1_000);
  });

  it('a step of this process\'s wall clock (NTP, libfaketime) does not move it', () => {
    const { clock, tick, stepWall, mono } = clocks();
    clock.observe(header(SERVER), mono(), mono());
    const before = clock.now();
    stepWall(-3_600_000);
    tick(500);
    expect(clock.now()).toBe(before + 500);
  });

  it('each response narrows it: an estimate outside what a response allows is pulled into it', () => {
    const { clock, tick, mono } = clocks();
    // A slow first answer leaves a wide bound (the midpoint of five seconds).
    const sent = mono();
    tick(5_000);
    clock.observe(header(SERVER + 4_000), sent, mono());
    const wide = clock.now() - (SERVER + 4_000);
    tick(10_000);
    // A quick one pins it to its second: the server's clock is now in [SERVER + 14 s, SERVER + 15 s).
    clock.observe(header(SERVER + 14_000), mono(), mono());
    const pinned = clock.now() - (SERVER + 14_000);
    expect([wide > 1_000, pinned >= 0 && pinned <= 1_000]).toEqual([true, true]);
  });

  it('a response whose bounds hold the estimate leaves it alone; one that says the server is ahead of it raises it', () => {
    const { clock, tick, mono } = clocks();
    clock.observe(header(SERVER), mono(), mono());
    const settled = clock.now();
    // A slow answer (four seconds on the way) within the same bounds: the midpoint would be two seconds on.
    tick(1_000);
    const sent = mono();
    tick(200);
    clock.observe(header(SERVER + 1_000), sent - 4_000, mono());
    expect(clock.now()).toBe(settled + 1_200);
    // The server's clock is at least five seconds past the estimate: raised to that bound.
    clock.observe(header(SERVER + 7_000), mono(), mono());
    expect(clock.now()).toBe(SERVER + 7_000);
  });

  it('by default: this process\'s wall clock, then the server\'s carried on performance.now()', () => {
    const clock = new ServerClock();
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1_000);
    const hourAhead = Date.now() + 3_600_000;
    clock.observe(header(hourAhead), performance.now(), performance.now());
    expect(Math.abs(clock.now() - hourAhead)).toBeLessThan(1_500);
  });

  it('never runs backwards, even when a response says the server is behind the estimate', () => {
    const { clock, tick, mono } = clocks();
    clock.observe(header(SERVER + 900), mono() - 2_000, mono());
    const first = clock.now();
    tick(100);
    clock.observe(header(SERVER - 5_000), mono(), mono());
    expect(clock.now()).toBeGreaterThanOrEqual(first);
  });

  it('a missing or unreadable Date header changes nothing', () => {
    const { clock, mono } = clocks();
    clock.observe(undefined, mono(), mono());
    clock.observe('not a date', mono(), mono());
    expect(clock.now()).toBe(SERVER + 600_000);
  });
});

describe('what the HTTP client tells the clock', () => {
  const ahead = Date.now() + 3_600_000;
  async function clockAfter(status: number, headers: Record<string, string>): Promise<number> {
    const server = http.createServer((_req, res) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Date': header(ahead), ...headers });
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const clock = new ServerClock();
    const client = new KubeHttpClient({ server: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, tls: {},
      credentials: async () => ({ headers: {} }) }, 'test', () => {}, clock);
    try {
      await client.request('GET', '/api/v1/namespaces').catch(() => undefined);
      return clock.now() - Date.now();
    } finally {
      server.close();
    }
  }

  it('a success the API server sent (Audit-Id) moves it; an error page or a response without Audit-Id (a proxy\'s) does not', async () => {
    expect(await clockAfter(200, { 'Audit-Id': 'a1' })).toBeGreaterThan(3_500_000);
    expect(Math.abs(await clockAfter(200, {}))).toBeLessThan(1_000);
    expect(Math.abs(await clockAfter(502, { 'Audit-Id': 'a1' }))).toBeLessThan(1_000);
  });
});
