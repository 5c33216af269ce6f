// The keys are a contract: users write the set's annotations, scripts select drain pods by label, and a
// controller after an upgrade must read the records the one before it wrote on claims in flight. A renamed
// key would strand every drain in progress, so each is pinned here as written in clusters and in the docs.
import * as keys from '../../src/planner/keys.ts';

describe('annotation, label and finalizer keys', () => {
  it('are the ones users, scripts and earlier versions of the controller use', () => {
    expect({ ...keys }).toEqual({
      SET_ANNOTATION_PREFIX: 'statefulsets.kubernetes.io/drainer-',
      OWN_KEY_PREFIX: 'drain.statefulsets.kubernetes.io/',
      TEMPLATE_ANNOTATION: 'statefulsets.kubernetes.io/drainer-pod-template',
      MAX_ATTEMPTS_ANNOTATION: 'statefulsets.kubernetes.io/drainer-max-attempts',
      DELAY_ANNOTATION: 'statefulsets.kubernetes.io/drainer-delay',
      TIMEOUT_ANNOTATION: 'statefulsets.kubernetes.io/drainer-timeout',
      INHERIT_SCHEDULING_ANNOTATION: 'statefulsets.kubernetes.io/drainer-inherit-scheduling',
      RETRY_ANNOTATION: 'statefulsets.kubernetes.io/drainer-retry',
      FINALIZER: 'drain.statefulsets.kubernetes.io/drain-orphans',
      ROLE_LABEL: 'drain.statefulsets.kubernetes.io/role',
      STATEFUL_POD_LABEL: 'statefulset.kubernetes.io/pod-name',
      ROLE_DRAINER: 'drainer',
      ROLE_PLACEHOLDER: 'placeholder',
      SET_LABEL: 'drain.statefulsets.kubernetes.io/statefulset',
      ORDINAL_LABEL: 'drain.statefulsets.kubernetes.io/ordinal',
      CLAIMS_ANNOTATION: 'drain.statefulsets.kubernetes.io/claims',
      ATTEMPT_ANNOTATION: 'drain.statefulsets.kubernetes.io/attempt',
      DRAIN_POD_ANNOTATION: 'drain.statefulsets.kubernetes.io/drain-pod-uid',
      DRAIN_POD_CONTAINERS_ANNOTATION: 'drain.statefulsets.kubernetes.io/drain-pod-containers',
      ENDED_DRAIN_POD_ANNOTATION: 'drain.statefulsets.kubernetes.io/ended-drain-pod-uid',
      DRAINED_ANNOTATION: 'drain.statefulsets.kubernetes.io/drained',
      ORPHANED_SINCE_ANNOTATION: 'drain.statefulsets.kubernetes.io/orphaned-since',
      FAILURES_ANNOTATION: 'drain.statefulsets.kubernetes.io/failed-attempts',
      LAST_FAILURE_ANNOTATION: 'drain.statefulsets.kubernetes.io/last-failure',
      RETRY_TOKEN_ANNOTATION: 'drain.statefulsets.kubernetes.io/retry-token',
      KEEP_VOLUME_ANNOTATION: 'statefulsets.kubernetes.io/drainer-keep-volume',
      KEPT_VOLUME_LABEL: 'drain.statefulsets.kubernetes.io/kept-volume',
      KEPT_CLAIM_ANNOTATION: 'drain.statefulsets.kubernetes.io/kept-claim',
      KEPT_CLAIM_UID_ANNOTATION: 'drain.statefulsets.kubernetes.io/kept-claim-uid',
      KEPT_SET_ANNOTATION: 'drain.statefulsets.kubernetes.io/kept-statefulset',
      KEPT_SET_UID_ANNOTATION: 'drain.statefulsets.kubernetes.io/kept-statefulset-uid',
      KEPT_ORDINAL_ANNOTATION: 'drain.statefulsets.kubernetes.io/kept-ordinal',
      KEPT_DRAIN_POD_ANNOTATION: 'drain.statefulsets.kubernetes.io/kept-drain-pod-uid',
      KEPT_AT_ANNOTATION: 'drain.statefulsets.kubernetes.io/kept-at',
      KEPT_UNTIL_ANNOTATION: 'drain.statefulsets.kubernetes.io/kept-until',
      KEPT_POLICY_ANNOTATION: 'drain.statefulsets.kubernetes.io/reclaim-policy-before-keep',
      RESTORED_ANNOTATION: 'drain.statefulsets.kubernetes.io/restored',
      RESTORED_AT_ANNOTATION: 'drain.statefulsets.kubernetes.io/restored-at',
    });
  });
});
