import { createRequire } from 'node:module';

/** The package version, read from package.json (one level above src/ and dist/src/). */
export const version: string = (() => {
  const require = createRequire(import.meta.url);
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      return (require(candidate) as { version: string }).version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
})();
