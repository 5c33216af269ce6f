// `npm run manifests:install`: writes manifests/install.yaml, the cluster-wide overlay rendered into one file
// for `kubectl apply -f`. A unit test renders it again and compares, so the file never drifts from the overlay.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const INSTALL_FILE = path.join(root, 'manifests', 'install.yaml');

export function renderInstallManifest(): string {
  const rendered = execFileSync('kubectl', ['kustomize', path.join(root, 'manifests', 'cluster-wide')], { encoding: 'utf8' });
  return [
    '# statefulset-drain-controller, cluster-wide: kubectl apply -f manifests/install.yaml',
    '# Generated from manifests/cluster-wide by `npm run manifests:install`; edit the overlay, not this file.',
    rendered,
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(INSTALL_FILE, renderInstallManifest());
