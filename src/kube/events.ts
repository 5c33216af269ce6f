// events.k8s.io/v1 events on the StatefulSet, so `kubectl describe sts` and `kubectl events` show each step.
import { randomBytes } from 'node:crypto';
import { V1MicroTime, type EventsV1Event, type V1StatefulSet } from '@kubernetes/client-node';
import type { KubeApi } from './api.ts';
import type { Logger } from '../log.ts';
import type { EventType } from '../planner/types.ts';

export const CONTROLLER_NAME = 'statefulset-drain-controller';

export interface EventInput {
  type: EventType;
  reason: string;
  /** Short verb for the event's `action` field, e.g. CreateDrainPod. */
  action: string;
  note: string;
  related?: { kind: 'Pod' | 'PersistentVolumeClaim'; name: string; uid?: string };
}

export class EventRecorder {
  private readonly api: KubeApi;
  private readonly instance: string;
  private readonly log: Logger;

  constructor(api: KubeApi, instance: string, log: Logger) {
    this.api = api;
    this.instance = instance;
    this.log = log;
  }

  /** Records an event; a failure to record is logged, never fatal (events are best effort, as in client-go). */
  async record(set: V1StatefulSet, input: EventInput): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    const event: EventsV1Event = {
      metadata: { name: `${set.metadata?.name}.${Date.now().toString(16)}${randomBytes(3).toString('hex')}`, namespace },
      eventTime: new V1MicroTime(),
      reportingController: CONTROLLER_NAME,
      reportingInstance: this.instance,
      action: input.action,
      reason: input.reason,
      type: input.type,
      note: input.note.slice(0, 1024),
      regarding: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: set.metadata?.name, namespace, uid: set.metadata?.uid },
      related: input.related ? { apiVersion: 'v1', kind: input.related.kind, name: input.related.name, namespace, uid: input.related.uid } : undefined,
    };
    try {
      await this.api.createEvent(event);
    } catch (err) {
      this.log.warn('could not record event', { statefulset: `${namespace}/${set.metadata?.name}`, reason: input.reason, error: String(err) });
    }
  }
}
