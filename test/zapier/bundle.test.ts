/**
 * The deployable artifact: scripts/bundle.mjs (what `zapier-platform build` runs as `_zapier-build`)
 * bundles the app with the routing core into one CommonJS file that Zapier's loader require()s.
 * The bundle is built into a temporary folder and loaded by a separate Node process.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileApp, serializeApp } from 'zapier-platform-core/src/tools/schema';
import App from '../../connectors/zapier/src/index';

const appDir = join(__dirname, '..', '..', 'connectors', 'zapier');
const repoRoot = join(appDir, '..', '..');
let outDir: string;

/** The app folder as Zapier's build ships it: package.json, the index.js entry and the bundle in dist/. */
beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'switchyard-zapier-bundle-'));
  for (const file of ['package.json', 'index.js']) copyFileSync(join(appDir, file), join(outDir, file));
  execFileSync(process.execPath, [join(appDir, 'scripts', 'bundle.mjs'), join(outDir, 'dist', 'index.js')], { cwd: appDir, stdio: 'pipe' });
});

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/**
 * Loads the folder the way Zapier does (a plain require of its entry, in a fresh process; only the
 * dependencies come from node_modules) and serializes the definition it exports.
 */
function loadBundle(): { definition: unknown; errors: string[] } {
  const script = `
    const { compileApp, serializeApp } = require('zapier-platform-core/src/tools/schema');
    const { validateAppDefinition } = require('zapier-platform-schema');
    const app = require(${JSON.stringify(outDir)});
    const definition = serializeApp(compileApp(app));
    const errors = validateAppDefinition(definition).errors.map((e) => e.property + ': ' + e.message);
    process.stdout.write(JSON.stringify({ definition, errors }));`;
  const env = { ...process.env, NODE_PATH: join(repoRoot, 'node_modules') };
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: outDir, env, encoding: 'utf8' })) as { definition: unknown; errors: string[] };
}

describe('bundled app (index.js -> dist/index.js)', () => {
  test('the folder’s entry exports the app, valid and identical to the source definition', () => {
    const { definition, errors } = loadBundle();
    expect(errors).toEqual([]);
    expect(definition).toEqual(serializeApp(compileApp(App)));
  });

  test('only package.json dependencies stay external: the routing core is inside', () => {
    const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const code = readFileSync(join(outDir, 'dist', 'index.js'), 'utf8');
    // Calls only: ajv keeps `require("ajv/dist/runtime/...")` as text for its standalone code generation.
    const required = new Set([...code.matchAll(/(?<![\w$'`])require\("([^"./][^"]*)"\)/g)].map((m) => m[1]!));
    const external = [...required].filter((name) => !name.startsWith('node:') && !builtinModules.includes(name));
    expect(external.sort()).toEqual(Object.keys(pkg.dependencies).sort());
    expect(code).toContain('createSwitchyard');
  });

  test('the app pins the versions the repository tests with', () => {
    const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const [name, version] of Object.entries(pkg.dependencies)) {
      const installed = JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      expect({ name, version }).toEqual({ name, version: installed.version });
    }
  });
});
