// Runs the bare consumer as its own process, compiled and with the image's Node.js flags and malloc settings, as the
// controller runs.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { IMAGE_ENV, NODE_FLAGS } from '../../local-cluster/controller-process.ts';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bench', 'bare-consumer.js');

export interface BareSync { ms: number; objects: number; rssMB: number; anonMB: number; fileMB: number }

export async function bareSync(kubeconfig: string): Promise<BareSync> {
  const { stdout } = await promisify(execFile)(process.execPath, [...NODE_FLAGS, script, kubeconfig],
    { maxBuffer: 1 << 20, env: { ...process.env, ...IMAGE_ENV } });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as BareSync;
}
