// The unit project's set-up: the tools its tests call are installed here, never by a test. promtool (the
// alerting rules' checks) comes from Debian's prometheus package; without root it cannot be installed, and
// the test that needs it is skipped with the reason printed here. helm (the chart's lint and rendering) is
// built from its Go module once and cached (local-cluster/build/ensure-helm.sh).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROMTOOL_VARIABLE = 'SDC_PROMTOOL';
export const PROMTOOL_MISSING_VARIABLE = 'SDC_PROMTOOL_MISSING';

export const HELM_VARIABLE = 'SDC_HELM';

const script = (name: string) => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'local-cluster', 'build', name);

export default (): void => {
  process.env[HELM_VARIABLE] = execFileSync('bash', [script('ensure-helm.sh')],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  try {
    process.env[PROMTOOL_VARIABLE] = execFileSync('bash', [script('ensure-promtool.sh')],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    process.env[PROMTOOL_MISSING_VARIABLE] = String((err as { stderr?: string }).stderr ?? err).trim();
    process.stderr.write(`\nthe alerting rules' promtool checks are skipped: ${process.env[PROMTOOL_MISSING_VARIABLE]}\n`);
  }
};
