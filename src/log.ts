import winston from 'winston';

/** Structured JSON logs; fields such as statefulset, ordinal and claim go in the metadata object. */
export function createLogger(level: string, format: 'json' | 'text' = 'json'): winston.Logger {
  return winston.createLogger({
    level,
    format: format === 'json'
      ? winston.format.combine(winston.format.timestamp(), winston.format.json())
      : winston.format.combine(winston.format.timestamp(), winston.format.printf(({ level: l, message, timestamp, ...meta }) =>
        `${String(timestamp)} ${l} ${String(message)}${Object.keys(meta).length ? ` ${JSON.stringify(meta)}` : ''}`)),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

export type Logger = winston.Logger;
