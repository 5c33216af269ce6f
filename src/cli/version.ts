import { createRequire } from 'node:module';

/** Set by the bundler (scripts/bundle.ts): the image has no package.json to read. */
declare const BUNDLED_VERSION: string | undefined;

/** The package version, read from package.json (one level above src/ and dist/src/). */
export const version: string = typeof BUNDLED_VERSION === 'string' ? BUNDLED_VERSION : (() => {
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
