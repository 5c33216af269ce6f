// The leader's write fence, which the replica's API client asks before every request it sends.
import { NotLeaderError } from '../controller/errors.ts';

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);
/** The lease (a replica must write it to acquire it), and the permission reviews (questions, which change nothing). */
const ALWAYS_SENT = new Set(['leases', 'selfsubjectaccessreviews']);

/**
 * The fence the API client asks before every request it sends: a replica that does not hold the lease
 * writes nothing but the lease itself (which it must, to acquire it); reads and permission reviews always pass.
 */
export function leaderWriteFence(isLeader: () => boolean): (verb: string, resource: string) => void {
  return (verb, resource) => {
    if (WRITE_VERBS.has(verb) && !ALWAYS_SENT.has(resource) && !isLeader()) throw new NotLeaderError();
  };
}
