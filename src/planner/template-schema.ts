// JSON schema for the parts of a drainer pod template the controller reads or rewrites.
// Everything else in `spec` is passed through and judged by the API server (dry-run).
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
        containers: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['name', 'image'],
            properties: {
              name: { type: 'string', minLength: 1 },
              image: { type: 'string', minLength: 1 },
              volumeMounts: {
                type: 'array',
                items: { type: 'object', required: ['name', 'mountPath'], properties: { name: { type: 'string' } } },
              },
            },
          },
        },
        initContainers: { type: 'array', items: { type: 'object', required: ['name'] } },
        volumes: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
      },
    },
  },
} as const;
