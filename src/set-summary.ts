// What a set's plan counts for its gauges: made by the planner (plan.summary), summed by the metrics.

export interface SetSummary {
  /** Claims of ordinals orphaned and not yet drained: a look-alike's list, a terminating replica's claim, a drained one do not count. */
  orphanedClaims: number;
  /** Orphaned ordinals waiting out their drain delay. */
  delayed: number;
  stuckDrains: number;
  gaveUp: number;
  /** Ordinals held by a pod this controller cannot prove is its drain pod as created. */
  held: number;
  invalid: boolean;
}
