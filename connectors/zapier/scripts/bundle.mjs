// Bundles the app and the routing core it embeds (from the repository's src/) into dist/index.js,
// so the folder ships on its own: `zapier-platform build` runs this as `_zapier-build`, then
// installs only package.json's dependencies (left external here) into the build.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Options shared with the test that checks the bundle (test/zapier/bundle.test.ts). */
export function bundleOptions(outfile = join(appDir, 'dist', 'index.js')) {
  const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
  return {
    // Zapier's CommonJS loader require()s package.json's main and expects the app itself as module.exports.
    stdin: { contents: "module.exports = require('./src/index.ts').default;", resolveDir: appDir, sourcefile: 'entry.cjs', loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    // zapier-platform-core must stay a real dependency; genai-prices is located at run time with require.resolve.
    external: Object.keys(pkg.dependencies),
    legalComments: 'none',
    logLevel: 'warning',
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await build(bundleOptions(process.argv[2]));
}
