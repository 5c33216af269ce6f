import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inClusterConfig, kubeconfigConfig } from '../../src/kube/connection-config.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'sdc-kubeconfig-'));
}

function kubeconfig(dir: string, name: string, doc: object): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

const basic = (user: object, cluster: object = { 'server': 'https://api.example:6443/', 'certificate-authority-data': b64('CA') }) => ({
  'current-context': 'main',
  'contexts': [{ name: 'main', context: { cluster: 'c', user: 'u', namespace: 'shards' } }],
  'clusters': [{ name: 'c', cluster }],
  'users': [{ name: 'u', user }],
});

describe('kubeconfig', () => {
  it('reads the server, CA and client certificate of the current context', async () => {
    const dir = tempDir();
    const config = kubeconfigConfig([kubeconfig(dir, 'config', basic({ 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') }))]);
    expect(config.server).toBe('https://api.example:6443');
    expect(config.tls.ca?.toString()).toBe('CA');
    expect(config.tls.cert?.toString()).toBe('CERT');
    expect(config.tls.key?.toString()).toBe('KEY');
    expect(await config.headers()).toEqual({});
  });

  it('resolves certificate files relative to the kubeconfig that names them', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'pki'));
    writeFileSync(path.join(dir, 'pki', 'ca.crt'), 'CA FILE');
    writeFileSync(path.join(dir, 'pki', 'me.crt'), 'CERT FILE');
    writeFileSync(path.join(dir, 'pki', 'me.key'), 'KEY FILE');
    const file = kubeconfig(dir, 'config', basic({ 'client-certificate': 'pki/me.crt', 'client-key': 'pki/me.key' },
      { 'server': 'https://api.example', 'certificate-authority': 'pki/ca.crt' }));
    const config = kubeconfigConfig([file]);
    expect([config.tls.ca, config.tls.cert, config.tls.key].map(String)).toEqual(['CA FILE', 'CERT FILE', 'KEY FILE']);
  });

  it.each([
    ['a token', { token: 'abc' }, { Authorization: 'Bearer abc' }],
    ['basic auth', { username: 'ada', password: 'pw' }, { Authorization: `Basic ${b64('ada:pw')}` }],
  ])('sends %s as the Authorization header', async (_what, user, headers) => {
    expect(await kubeconfigConfig([kubeconfig(tempDir(), 'config', basic(user))]).headers()).toEqual(headers);
  });

  it('reads the token from tokenFile', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'token'), 'first\n');
    const config = kubeconfigConfig([kubeconfig(dir, 'config', basic({ tokenFile: 'token' }))]);
    expect(await config.headers()).toEqual({ Authorization: 'Bearer first' });
  });

  it('takes each name from the first of several files, as kubectl does', () => {
    const dir = tempDir();
    const first = kubeconfig(dir, 'a', { 'current-context': 'main', 'contexts': [{ name: 'main', context: { cluster: 'c', user: 'u' } }], 'clusters': [{ name: 'c', cluster: { server: 'https://first' } }] });
    const second = kubeconfig(dir, 'b', { 'current-context': 'other', 'clusters': [{ name: 'c', cluster: { server: 'https://second' } }], 'users': [{ name: 'u', user: { token: 't' } }] });
    expect(kubeconfigConfig([first, second]).server).toBe('https://first');
  });

  it('names what is missing when the context or server is', () => {
    const dir = tempDir();
    expect(() => kubeconfigConfig([kubeconfig(dir, 'a', { 'current-context': 'nope', 'contexts': [] })])).toThrow(/context "nope" not found/);
    expect(() => kubeconfigConfig([kubeconfig(dir, 'b', basic({}, {}))])).toThrow(/cluster "c" has no server/);
  });

  it('takes an http proxy-url and refuses a socks one by name', () => {
    const withProxy = (proxy: string) => kubeconfigConfig([kubeconfig(tempDir(), 'config', basic({}, { 'server': 'https://x', 'proxy-url': proxy }))]);
    expect(withProxy('http://proxy:3128').proxyUrl).toBe('http://proxy:3128');
    expect(() => withProxy('socks5://proxy:1080')).toThrow(/socks5:\/\/proxy:1080: only http:\/\/ and https:\/\/ proxies/);
  });

  it('honours insecure-skip-tls-verify and tls-server-name', () => {
    const config = kubeconfigConfig([kubeconfig(tempDir(), 'config', basic({}, { 'server': 'https://10.0.0.1', 'insecure-skip-tls-verify': true, 'tls-server-name': 'api.internal' }))]);
    expect(config.tls).toMatchObject({ insecureSkipTlsVerify: true, serverName: 'api.internal' });
  });
});

describe('in-cluster', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('uses the service account token and CA, and the service address', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'token'), 'sa-token');
    writeFileSync(path.join(dir, 'ca.crt'), 'CLUSTER CA');
    process.env.KUBERNETES_SERVICE_HOST = 'fd00::1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    const config = inClusterConfig(dir);
    expect(config.server).toBe('https://[fd00::1]:443');
    expect(config.tls.ca?.toString()).toBe('CLUSTER CA');
    expect(await config.headers()).toEqual({ Authorization: 'Bearer sa-token' });
  });

  it('says so when not in a cluster', () => {
    delete process.env.KUBERNETES_SERVICE_HOST;
    expect(() => inClusterConfig(tempDir())).toThrow(/KUBERNETES_SERVICE_HOST/);
  });
});
