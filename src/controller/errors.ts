// Why a plan stopped short, as the shell tells apart: not an API failure, and not to be retried with backoff.

/** This replica does not hold the lease (any more): it writes nothing. */
export class NotLeaderError extends Error {
  constructor() {
    super('not the leader: refusing to write');
  }
}

/** A drain pod's create was refused because of its template; the verdict is kept and the next plan reports it. */
export class TemplateRefusedError extends Error {}

/** A kept set's claim whose volume could not be kept: the claim is not deleted (reported as VolumeNotKept). */
export class VolumeNotKeptError extends Error {}
