// JSON schema for the parts of a drainer pod template the controller reads or rewrites: the type of every
// field the planner touches is fixed here, so an odd value is refused with a Warning instead of reaching the
// planner. Everything else in `spec` is passed through and judged by the API server (dry-run).
const stringList = { type: 'array', items: { type: 'string' } } as const;

const container = {
  type: 'object',
  required: ['name', 'image'],
  properties: {
    name: { type: 'string', minLength: 1 },
    image: { type: 'string', minLength: 1 },
    command: stringList,
    args: stringList,
    workingDir: { type: 'string' },
    volumeMounts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'mountPath'],
        properties: { name: { type: 'string' }, mountPath: { type: 'string' }, subPath: { type: 'string' }, subPathExpr: { type: 'string' },
          readOnly: { type: 'boolean' } },
      },
    },
  },
} as const;

export const drainerTemplateSchema = {
  type: 'object',
  required: ['spec'],
  additionalProperties: false,
  properties: {
    metadata: {
      type: 'object',
      additionalProperties: false,
      properties: {
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    spec: {
      type: 'object',
      required: ['containers'],
      properties: {
        restartPolicy: { enum: ['OnFailure', 'Never'] },
        containers: { type: 'array', minItems: 1, items: container },
        initContainers: { type: 'array', items: container },
        volumes: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name'],
            properties: {
              name: { type: 'string' },
              persistentVolumeClaim: { type: 'object', required: ['claimName'],
                properties: { claimName: { type: 'string' }, readOnly: { type: 'boolean' } } },
            },
          },
        },
        // Read when drain pods take the set's scheduling constraints (drain-pod.ts).
        affinity: { type: 'object', properties: { nodeAffinity: { type: 'object' } } },
        tolerations: { type: 'array', items: { type: 'object' } },
        nodeSelector: { type: 'object', additionalProperties: { type: 'string' } },
        priorityClassName: { type: 'string' },
        imagePullSecrets: { type: 'array', items: { type: 'object' } },
      },
    },
  },
} as const;
