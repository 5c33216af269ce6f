import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { KUBERNETES_SERVICE_IP, NODE_IP } from './addresses.ts';

export interface Certificates {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function signedBy(dir: string, name: string, subject: string, ca: { cert: string; key: string }, extensions: string) {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.crt`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-subj', subject, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
    '-days', '30', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

/** A throwaway CA, the API server's serving cert, a system:masters client cert and the service-account key pair. */
export function generateCertificates(dir: string): Certificates {
  const caKey = path.join(dir, 'ca.key');
  const caCert = path.join(dir, 'ca.crt');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert,
    '-days', '30', '-subj', '/CN=sdc-local-ca']);
  const ca = { cert: caCert, key: caKey };
  const serving = signedBy(dir, 'apiserver', '/CN=kube-apiserver', ca,
    // The real node reaches it at its node address, and pods at the `kubernetes` Service (real-node.ts).
    `subjectAltName=IP:127.0.0.1,IP:${NODE_IP},IP:${KUBERNETES_SERVICE_IP},DNS:localhost,DNS:kubernetes,` +
    `DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n`);
  const admin = signedBy(dir, 'admin', '/O=system:masters/CN=sdc-admin', ca, 'extendedKeyUsage=clientAuth\n');
  const serviceAccountKey = path.join(dir, 'sa.key');
  const serviceAccountPub = path.join(dir, 'sa.pub');
  openssl(['genrsa', '-out', serviceAccountKey, '2048']);
  openssl(['rsa', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);
  return {
    caCert, caKey,
    servingCert: serving.cert, servingKey: serving.key,
    adminCert: admin.cert, adminKey: admin.key,
    serviceAccountKey, serviceAccountPub,
  };
}
