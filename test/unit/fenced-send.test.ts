// The write fence's last moment (src/kube/fenced-send.ts): a request is checked only once its connection is
// open, TCP and TLS alike, and a refused one never reaches the server. Against local HTTP and HTTPS servers.
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeHttpClient } from '../../src/kube/http-client.ts';
import { generateCertificates } from '../../local-cluster/certificates.ts';

interface Served { url: string; requests: string[]; connected: () => boolean; openConnections: () => number; close: () => void }

async function serve(server: http.Server | https.Server, scheme: 'http' | 'https'): Promise<Served> {
  const requests: string[] = [];
  let connected = false;
  let open = 0;
  server.on('connection', (socket: net.Socket) => {
    open += 1;
    socket.on('close', () => (open -= 1));
  });
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', () => (connected = true));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${scheme}://127.0.0.1:${(server.address() as net.AddressInfo).port}`, requests, connected: () => connected,
    openConnections: () => open,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'sdc-fence-'));
const certs = generateCertificates(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// TLS 1.2, so that the server has finished its handshake before the client can: its secureConnection event then
// tells that the client's handshake was complete too when the fence was asked (in TLS 1.3 the client finishes first).
const tlsServer = () => https.createServer({
  cert: readFileSync(certs.servingCert), key: readFileSync(certs.servingKey), maxVersion: 'TLSv1.2',
});

const clients = {
  http: async () => {
    const served = await serve(http.createServer(), 'http');
    return { served, client: new KubeHttpClient({ server: served.url, tls: {}, credentials: async () => ({ headers: {} }) }, 'test') };
  },
  https: async () => {
    const served = await serve(tlsServer(), 'https');
    return { served, client: new KubeHttpClient({ server: served.url, tls: { ca: readFileSync(certs.caCert) },
      credentials: async () => ({ headers: {} }) }, 'test') };
  },
  'https without verification': async () => {
    const served = await serve(tlsServer(), 'https');
    return { served, client: new KubeHttpClient({ server: served.url, tls: { insecureSkipTlsVerify: true },
      credentials: async () => ({ headers: {} }) }, 'test') };
  },
};

describe.each(Object.keys(clients) as Array<keyof typeof clients>)('a fenced write over %s', (scheme) => {
  it('is checked once its connection is open (handshake included), then sent; on a kept-alive connection, at once', async () => {
    const { served, client } = await clients[scheme]();
    try {
      const connectedWhenAsked: boolean[] = [];
      const fence = () => connectedWhenAsked.push(served.connected());
      await client.request('DELETE', '/api/v1/namespaces/ns/pods/a', { beforeSend: fence });
      await client.request('DELETE', '/api/v1/namespaces/ns/pods/b', { beforeSend: fence });
      expect(connectedWhenAsked).toEqual([true, true]);
      expect(served.requests).toEqual(['DELETE /api/v1/namespaces/ns/pods/a', 'DELETE /api/v1/namespaces/ns/pods/b']);
    } finally {
      served.close();
    }
  });

  it('refused by the fence, fails with what the fence threw and never reaches the server, on a new or a kept-alive connection',
    async () => {
      const { served, client } = await clients[scheme]();
      try {
        const refusal = new Error('not the leader');
        await expect(client.request('DELETE', '/api/v1/namespaces/ns/pods/a', { beforeSend: () => {
          throw refusal;
        } })).rejects.toBe(refusal);
        await client.request('GET', '/api/v1/namespaces/ns/pods/b');
        await expect(client.request('DELETE', '/api/v1/namespaces/ns/pods/c', { beforeSend: () => {
          throw refusal;
        } })).rejects.toBe(refusal);
        await new Promise((r) => setTimeout(r, 50));
        expect(served.requests).toEqual(['GET /api/v1/namespaces/ns/pods/b']);
      } finally {
        served.close();
      }
    });

  it('refused by the fence, gives its connection up instead of holding it open unsent', async () => {
    const { served, client } = await clients[scheme]();
    try {
      await expect(client.request('DELETE', '/api/v1/namespaces/ns/pods/a', { beforeSend: () => {
        throw new Error('not the leader');
      } })).rejects.toThrow('not the leader');
      await new Promise((r) => setTimeout(r, 100));
      expect(served.openConnections()).toBe(0);
    } finally {
      served.close();
    }
  });
});
