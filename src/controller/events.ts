// events.k8s.io/v1 events on the StatefulSet, so `kubectl describe sts` and `kubectl events` show each step.
import { randomBytes } from 'node:crypto';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { microTime, type EventBody, type KubeApi, type MicroTime } from '../kube/api.ts';
import { RateLimiter } from '../kube/rate-limiter.ts';
import type { Logger } from '../log.ts';
import type { EventReason, EventType } from '../planner/types.ts';
import { CONTROLLER_NAME } from '../names.ts';


export interface EventInput {
  type: EventType;
  reason: EventReason;
  /** Short verb for the event's `action` field, e.g. CreateDrainPod. */
  action: string;
  note: string;
  related?: { kind: 'Pod' | 'PersistentVolumeClaim'; name: string; uid?: string };
}

/** Events waiting to be sent beyond this are dropped (and counted in the log): they are best effort. */
const MAX_PENDING = 1000;

/**
 * Sends events in the background with their own rate limit, as client-go's broadcaster does: recording
 * never delays a drain, and a burst of events never uses up the budget of the drains' own requests.
 */
export class EventRecorder {
  private readonly api: Pick<KubeApi, 'createEvent'>;
  private readonly instance: string;
  private readonly log: Logger;
  private readonly limiter: RateLimiter;
  private pending = 0;
  private dropped = 0;
  private lastTime = 0;

  constructor(api: Pick<KubeApi, 'createEvent'>, instance: string, log: Logger, limits: { qps: number; burst: number }) {
    this.api = api;
    this.instance = instance;
    this.log = log;
    this.limiter = new RateLimiter(limits.qps, limits.burst);
  }

  /** Queues an event; a failure to record is logged, never fatal. */
  record(set: V1StatefulSet, input: EventInput): void {
    if (this.pending >= MAX_PENDING) {
      if (this.dropped++ % 100 === 0) this.log.warn('dropping events: too many waiting to be sent', { dropped: this.dropped });
      return;
    }
    // Timestamped now, not when sent, and strictly increasing (the API keeps milliseconds), so events
    // sorted by time list the steps in the order they happened.
    this.lastTime = Math.max(Date.now(), this.lastTime + 1);
    const time = microTime(this.lastTime);
    this.pending += 1;
    void this.limiter.take().then(() => this.send(set, input, time)).finally(() => {
      this.pending -= 1;
    });
  }

  /** Sends an event now, outside the queue (a command that records one event and exits); a failure is logged. */
  async recordNow(set: V1StatefulSet, input: EventInput): Promise<void> {
    await this.send(set, input, microTime(Date.now()));
  }

  private async send(set: V1StatefulSet, input: EventInput, eventTime: MicroTime): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    const event: EventBody = {
      metadata: { name: `${set.metadata?.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`, namespace },
      eventTime,
      reportingController: CONTROLLER_NAME,
      reportingInstance: this.instance,
      action: input.action,
      reason: input.reason,
      type: input.type,
      note: input.note.slice(0, 1024),
      regarding: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: set.metadata?.name, namespace, uid: set.metadata?.uid },
      related: input.related ? { apiVersion: 'v1', kind: input.related.kind, name: input.related.name, namespace,
        uid: input.related.uid } : undefined,
    };
    try {
      await this.api.createEvent(event);
    } catch (err) {
      this.log.warn('could not record event',
        { statefulset: `${namespace}/${set.metadata?.name}`, reason: input.reason, error: String(err) });
    }
  }
}
