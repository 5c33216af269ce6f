// manifests/install.yaml is the cluster-wide overlay rendered into one file: rendered again here, it must be the same.
import { readFileSync } from 'node:fs';
import { INSTALL_FILE, renderInstallManifest } from '../../scripts/install-manifest.ts';

it('manifests/install.yaml is the cluster-wide overlay as it is now (npm run manifests:install rewrites it)', () => {
  const rendered = renderInstallManifest();
  expect(rendered).toMatch(/kind: ClusterRole\b/);
  expect(rendered).toMatch(/kind: Deployment\b/);
  expect(readFileSync(INSTALL_FILE, 'utf8')).toBe(rendered);
});
