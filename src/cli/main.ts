#!/usr/bin/env node
// Entry point of the `statefulset-drain-controller` command. Each command loads its own code when it runs, so the
// controller's start-up never loads the status views (and the views never load the controller).
import { Command } from 'commander';
import { addPlannerOptions, addRunOptions, type RunOptions } from './options.ts';
import type { StatusOptions } from './status.ts';
import type { RestoreOptions } from './restore.ts';
import { INSTALL_NAMESPACE } from './controller-presence.ts';
import { CONTROLLER_NAME } from '../names.ts';

const program = new Command(CONTROLLER_NAME)
  .description('Drains the PersistentVolumeClaims that a StatefulSet scale-down leaves behind, then releases them.')
  .showHelpAfterError();

addRunOptions(program.command('run', { isDefault: true }).description('run the controller (the default command)'))
  .action(async (options: RunOptions) => (await import('./run.ts')).run(options));

/** The read-only views: the planner flags (to judge as the controller does) and where the cluster is. */
const view = (command: Command) => addPlannerOptions(command)
  .option('--kubeconfig <file>', 'kubeconfig file')
  .option('--context <name>', 'kubeconfig context to use')
  .option('--leader-election-namespace <ns>',
    `where the controller's Lease is (default: ${INSTALL_NAMESPACE}, and the namespace looked at)`)
  .option('--leader-election-id <name>', 'name of the controller\'s Lease', CONTROLLER_NAME);

view(program.command('status'))
  .description('show, for each managed StatefulSet, its orphaned claims, drain pods and failures (pass the planner flags ' +
    'the controller runs with)')
  .option('-n, --namespace <ns>', 'only this namespace (default: the context\'s namespace, else all)')
  .option('-A, --all-namespaces', 'every namespace')
  .option('-o, --output <format>', 'table or json', 'table')
  .option('-w, --watch', 'keep watching: print the view again, time-stamped, whenever it changes')
  .action(async (options: StatusOptions) => (await import('./status.ts')).status(options));

view(program.command('why <statefulset> [ordinal]'))
  .description('explain, in a sentence each, why the orphaned ordinals of one StatefulSet are where they are, and what comes next')
  .option('-n, --namespace <ns>', 'the StatefulSet\'s namespace (default: the context\'s namespace, else default)')
  .action(async (setName: string, ordinal: string | undefined, options: StatusOptions) =>
    (await import('./status.ts')).why(options, setName, ordinal));

program.command('restore <statefulset> <ordinal>')
  .description('bind the volumes kept for a released ordinal (drainer-keep-volume) to new claims of their old names, for the next ' +
    'scale-up over it to start on the old data')
  .option('--kubeconfig <file>', 'kubeconfig file')
  .option('--context <name>', 'kubeconfig context to use')
  .option('-n, --namespace <ns>', 'the StatefulSet\'s namespace (default: the context\'s namespace, else default)')
  .action(async (setName: string, ordinal: string, options: RestoreOptions) => {
    const { restore, RestoreRefusedError } = await import('./restore.ts');
    try {
      for (const line of await restore(options, setName, ordinal)) console.log(line);
    } catch (err) {
      console.error(err instanceof RestoreRefusedError ? `restore refused: ${err.message}; nothing was changed`
        : `restore failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    }
  });

await program.parseAsync(process.argv);
