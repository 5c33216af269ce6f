// The name the controller goes by, spelled once: the command, the event's reporting controller, the
// User-Agent, the work queue's metric label, the lease, the install's namespace, the placeholder's scheduler.
export const CONTROLLER_NAME = 'statefulset-drain-controller';
