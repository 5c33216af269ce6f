import { jest } from '@jest/globals';
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REREAD_MS, inClusterConfig, kubeconfigConfig, loadConnectionConfig } from '../../src/kube/connection-config.ts';

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
    const config =
      kubeconfigConfig([kubeconfig(dir, 'config', basic({ 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') }))]);
    expect(config.server).toBe('https://api.example:6443');
    expect(config.tls.ca?.toString()).toBe('CA');
    const credentials = await config.credentials();
    expect(credentials.cert?.toString()).toBe('CERT');
    expect(credentials.key?.toString()).toBe('KEY');
    expect(credentials.headers).toEqual({});
    expect(config.namespace).toBe('shards');
  });

  it('resolves certificate files relative to the kubeconfig that names them', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'pki'));
    writeFileSync(path.join(dir, 'pki', 'ca.crt'), 'CA FILE');
    writeFileSync(path.join(dir, 'pki', 'me.crt'), 'CERT FILE');
    writeFileSync(path.join(dir, 'pki', 'me.key'), 'KEY FILE');
    const file = kubeconfig(dir, 'config', basic({ 'client-certificate': 'pki/me.crt', 'client-key': 'pki/me.key' },
      { 'server': 'https://api.example', 'certificate-authority': 'pki/ca.crt' }));
    const config = kubeconfigConfig([file]);
    const { cert, key } = await config.credentials();
    expect([config.tls.ca, cert, key].map(String)).toEqual(['CA FILE', 'CERT FILE', 'KEY FILE']);
  });

  it.each([
    ['a token', { token: 'abc' }, { Authorization: 'Bearer abc' }],
    ['basic auth', { username: 'ada', password: 'pw' }, { Authorization: `Basic ${b64('ada:pw')}` }],
  ])('sends %s as the Authorization header', async (_what, user, headers) => {
    expect((await kubeconfigConfig([kubeconfig(tempDir(), 'config', basic(user))]).credentials()).headers).toEqual(headers);
  });

  it('reads the token from tokenFile', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'token'), 'first\n');
    const config = kubeconfigConfig([kubeconfig(dir, 'config', basic({ tokenFile: 'token' }))]);
    expect((await config.credentials()).headers).toEqual({ Authorization: 'Bearer first' });
  });

  it('takes each name from the first of several files, as kubectl does', () => {
    const dir = tempDir();
    const first = kubeconfig(dir, 'a', { 'current-context': 'main', 'contexts': [{ name: 'main', context: { cluster: 'c', user: 'u' } }], 'clusters': [{ name: 'c', cluster: { server: 'https://first' } }] });
    const second = kubeconfig(dir, 'b', { 'current-context': 'other', 'clusters': [{ name: 'c', cluster: { server: 'https://second' } }], 'users': [{ name: 'u', user: { token: 't' } }] });
    expect(kubeconfigConfig([first, second]).server).toBe('https://first');
  });

  it('names what is missing when the context or server is', () => {
    const dir = tempDir();
    expect(() => kubeconfigConfig([kubeconfig(dir, 'a', { 'current-context': 'nope', 'contexts': [] })]))
      .toThrow(/context "nope" not found/);
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
    writeFileSync(path.join(dir, 'namespace'), 'drains');
    const config = inClusterConfig(dir);
    expect(config.server).toBe('https://[fd00::1]:443');
    expect(config.tls.ca?.toString()).toBe('CLUSTER CA');
    expect((await config.credentials()).headers).toEqual({ Authorization: 'Bearer sa-token' });
    expect(config.namespace).toBe('drains');
  });

  it('says so when not in a cluster', () => {
    delete process.env.KUBERNETES_SERVICE_HOST;
    expect(() => inClusterConfig(tempDir())).toThrow(/KUBERNETES_SERVICE_HOST/);
  });
});

/** An exec credential plugin: a script that prints an ExecCredential with `status`. */
function execPlugin(dir: string, name: string, status: object): object {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\ncat ` +
    `<<'JSON'\n${JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status })}\nJSON\n`);
  chmodSync(file, 0o755);
  return { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: file, interactiveMode: 'Never' } };
}

describe('kubeconfig, as client-go reads it', () => {
  it('several files and an exec plugin: the first file\'s current-context, and that context\'s own credentials', async () => {
    const dir = tempDir();
    const file = (name: string, server: string, token: string) => kubeconfig(dir, name, {
      'current-context': name,
      'contexts': [{ name, context: { cluster: name, user: name } }],
      'clusters': [{ name, cluster: { server } }],
      'users': [{ name, user: execPlugin(dir, `plugin-${name}`, { token }) }],
    });
    const config = kubeconfigConfig([file('a', 'https://server-a', 'token-for-a'), file('b', 'https://server-b', 'token-for-b')]);
    expect(config.server).toBe('https://server-a');
    expect((await config.credentials()).headers).toEqual({ Authorization: 'Bearer token-for-a' });
  });

  it('--context chooses another context, with its own server, credentials and namespace', async () => {
    const dir = tempDir();
    const file = kubeconfig(dir, 'config', {
      'current-context': 'a',
      'contexts': [{ name: 'a', context: { cluster: 'a', user: 'a' } },
        { name: 'b', context: { cluster: 'b', user: 'b', namespace: 'shop' } }],
      'clusters': [{ name: 'a', cluster: { server: 'https://a' } }, { name: 'b', cluster: { server: 'https://b' } }],
      'users': [{ name: 'a', user: { token: 'ta' } }, { name: 'b', user: { token: 'tb' } }],
    });
    const config = kubeconfigConfig([file], { context: 'b' });
    expect([config.server, config.namespace, (await config.credentials()).headers.Authorization]).toEqual(['https://b', 'shop', 'Bearer tb']);
  });

  it('an exec plugin that returns a client certificate', async () => {
    const dir = tempDir();
    const config = kubeconfigConfig([kubeconfig(dir, 'config',
      basic(execPlugin(dir, 'plugin', { clientCertificateData: 'PEM CERT', clientKeyData: 'PEM KEY' })))]);
    const credentials = await config.credentials();
    expect([credentials.cert?.toString(), credentials.key?.toString()]).toEqual(['PEM CERT', 'PEM KEY']);
  });

  it('impersonation: as, as-uid, as-groups and as-user-extra become Impersonate-* headers', async () => {
    const user = { 'token': 't', 'as': 'ada', 'as-uid': '42', 'as-groups': ['ops', 'dba'], 'as-user-extra': { 'reason/why': ['audit'] } };
    expect((await kubeconfigConfig([kubeconfig(tempDir(), 'config', basic(user))]).credentials()).headers).toEqual({
      'Authorization': 'Bearer t', 'Impersonate-User': 'ada', 'Impersonate-Uid': '42', 'Impersonate-Group': ['ops', 'dba'],
      'Impersonate-Extra-reason%2Fwhy': ['audit'],
    });
    expect(() => kubeconfigConfig([kubeconfig(tempDir(), 'config', basic({ 'as-groups': ['ops'] }))])).toThrow(/need as/);
  });

  it('a certificate authority together with insecure-skip-tls-verify is refused', () => {
    const file = kubeconfig(tempDir(), 'config', basic({}, { 'server': 'https://x', 'certificate-authority-data': b64('CA'), 'insecure-skip-tls-verify': true }));
    expect(() => kubeconfigConfig([file])).toThrow(/both a certificate authority and insecure-skip-tls-verify/);
  });
});

describe('credentials that rotate on disk', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] }));
  afterEach(() => jest.useRealTimers());

  it('a token file that cannot be read again keeps the last good token, and says so', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'token'), 'good');
    const warnings: string[] = [];
    const config = kubeconfigConfig([kubeconfig(dir, 'config', basic({ tokenFile: 'token' }))],
      { warn: (message) => warnings.push(message) });
    expect((await config.credentials()).headers.Authorization).toBe('Bearer good');
    rmSync(path.join(dir, 'token'));
    jest.advanceTimersByTime(REREAD_MS + 1);
    expect((await config.credentials()).headers.Authorization).toBe('Bearer good');
    expect(warnings).toEqual(['could not read a credential file again; using its last good content']);
    writeFileSync(path.join(dir, 'token'), 'rotated');
    jest.advanceTimersByTime(REREAD_MS + 1);
    expect((await config.credentials()).headers.Authorization).toBe('Bearer rotated');
  });

  it('client certificate and key files replaced on disk are picked up', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'me.crt'), 'CERT 1');
    writeFileSync(path.join(dir, 'me.key'), 'KEY 1');
    const config = kubeconfigConfig([kubeconfig(dir, 'config', basic({ 'client-certificate': 'me.crt', 'client-key': 'me.key' }))]);
    expect(String((await config.credentials()).cert)).toBe('CERT 1');
    writeFileSync(path.join(dir, 'me.crt'), 'CERT 2');
    writeFileSync(path.join(dir, 'me.key'), 'KEY 2');
    jest.advanceTimersByTime(REREAD_MS + 1);
    const rotated = await config.credentials();
    expect([String(rotated.cert), String(rotated.key)]).toEqual(['CERT 2', 'KEY 2']);
  });
});

describe('which configuration wins (controller-runtime\'s order)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('inside a pod, $KUBECONFIG and --kubeconfig win over the service account', () => {
    process.env.KUBERNETES_SERVICE_HOST = '10.0.0.1';
    const dir = tempDir();
    const fromEnv = kubeconfig(dir, 'env', basic({}, { server: 'https://from-env' }));
    const explicit = kubeconfig(dir, 'flag', basic({}, { server: 'https://from-flag' }));
    process.env.KUBECONFIG = fromEnv;
    expect(loadConnectionConfig().server).toBe('https://from-env');
    expect(loadConnectionConfig({ kubeconfig: explicit }).server).toBe('https://from-flag');
  });
});
