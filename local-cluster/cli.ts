// `npm run cluster:up [-- --real-node]` / `npm run cluster:down`: a local control plane that outlives this
// command; with --real-node, a real kubelet and containerd instead of kwok's simulated nodes.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadState, startControlPlane, stopControlPlane } from './control-plane.ts';

const pointer = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.cluster', 'current');

async function up(): Promise<void> {
  if (existsSync(pointer)) {
    const dir = readFileSync(pointer, 'utf8').trim();
    if (existsSync(path.join(dir, 'state.json'))) {
      console.log(`a local control plane is already running (${dir}); run npm run cluster:down first`);
      console.log(`KUBECONFIG=${loadState(dir).kubeconfig}`);
      return;
    }
  }
  const cp = await startControlPlane({ realNode: process.argv.includes('--real-node'),
    log: (line) => console.log(`[control-plane] ${line}`) });
  mkdirSync(path.dirname(pointer), { recursive: true });
  writeFileSync(pointer, cp.dir);
  console.log(`logs: ${path.join(cp.dir, 'logs')}`);
  console.log(`KUBECONFIG=${cp.kubeconfig}`);
}

async function down(): Promise<void> {
  if (!existsSync(pointer)) {
    console.log('no local control plane is running');
    return;
  }
  const dir = readFileSync(pointer, 'utf8').trim();
  if (existsSync(path.join(dir, 'state.json'))) await stopControlPlane(loadState(dir));
  rmSync(pointer, { force: true });
  console.log(`stopped the local control plane (${dir})`);
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  console.error('usage: cli.ts up|down');
  process.exit(2);
}
