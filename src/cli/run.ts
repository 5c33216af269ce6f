// `statefulset-drain-controller run`: one replica, started; a start-up failure ends the process with one
// line; SIGTERM and SIGINT stop it gracefully (the lease is handed back).
import { Replica } from './replica.ts';
import type { RunOptions } from './options.ts';
import { startupFailure } from './startup-failure.ts';
import { CONTROLLER_NAME } from '../names.ts';

export async function run(options: RunOptions): Promise<void> {
  let replica: Replica;
  try {
    replica = new Replica(options);
    await replica.start();
  } catch (err) {
    process.stderr.write(`${CONTROLLER_NAME}: ${startupFailure(err)}\n`);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    replica.log.info('shutting down', { signal });
    await replica.stop();
    replica.log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
