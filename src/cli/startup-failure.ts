// What went wrong before the controller could start, said in one line with the flag or permission that
// fixes it: an operator reads this in `kubectl logs` of a crash-looping pod, not a Node.js stack trace.
import { ListRefusedError } from '../controller/cluster-cache.ts';

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  path?: string;
  address?: string;
  port?: number;
}

export function startupFailure(err: unknown): string {
  if (err instanceof ListRefusedError) {
    return `${err.message}. Grant the controller's ServiceAccount get, list and watch on ${err.resource} (docs/security.md#permissions)` +
      (err.namespace ? '' : ', or watch only some namespaces with --namespaces');
  }
  const e = err as SystemError;
  if (e.syscall === 'listen' && (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL')) {
    const why = { EADDRINUSE: 'the address is in use', EACCES: 'permission denied', EADDRNOTAVAIL: 'no such local address' }[e.code];
    return `cannot listen on ${e.address ?? ''}:${e.port ?? ''} for /metrics or the probes: ${why}; ` +
      'choose another with --metrics-bind-address and --health-probe-bind-address';
  }
  if (e.code === 'ENOENT' && e.path) {
    return `cannot read ${e.path}: no such file (give the kubeconfig with --kubeconfig or $KUBECONFIG, or run the controller in a cluster)`;
  }
  if (e.code === 'EACCES' && e.path) return `cannot read ${e.path}: permission denied`;
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
