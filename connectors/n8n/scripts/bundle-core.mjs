// Bundles the Switchyard routing core (the repository's src/core + src/providers and their libraries)
// into dist/vendor/switchyard-core.js, and the structured-output tasks (src/core/tasks, zod, ajv)
// into dist/vendor/switchyard-tasks.js, so the published package has no runtime dependencies.
// Two bundles: Gateway-server mode needs the tasks but not the routing core (about 1 MB vs 6 MB).
// Run after `n8n-node build` (which empties dist/). Needs the repository root's `npm ci`.
import { build } from 'esbuild';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, '..');
const repoRoot = resolve(pkgDir, '..', '..');
const vendorDir = join(pkgDir, 'dist', 'vendor');

const rootPkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
/** The core must not locate packages at run time: inside n8n only this bundle exists. */
const noRuntimeResolve = {
	name: 'no-runtime-resolve',
	setup(b) {
		b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
			const source = await readFile(args.path, 'utf8');
			if (!source.includes('require.resolve(')) return undefined;
			return { errors: [{ text: `${args.path} resolves a package at run time; the n8n bundle cannot` }] };
		});
	},
};

/** Options both bundles share. */
const shared = {
	bundle: true,
	platform: 'node',
	format: 'cjs',
	target: 'node20',
	// Resolve the core's libraries from the repository root (zod 4 there; n8n itself ships zod 3).
	nodePaths: [join(repoRoot, 'node_modules')],
	plugins: [noRuntimeResolve],
	legalComments: 'eof',
	// A core mid-refactor must fail the build here, not inside n8n.
	logOverride: { 'import-is-undefined': 'error', 'require-resolve-not-external': 'error' },
	metafile: true,
	logLevel: 'warning',
};

const bundles = [
	{
		name: 'switchyard-core',
		// Loaded on demand by the `local` provider only, which Direct mode never configures.
		external: ['node-llama-cpp'],
		define: { SWITCHYARD_CORE_VERSION: JSON.stringify(`${rootPkg.name}@${rootPkg.version}`) },
	},
	{ name: 'switchyard-tasks' },
];

const inputs = {};
for (const { name, ...options } of bundles) {
	const outfile = join(vendorDir, `${name}.js`);
	const result = await build({ ...shared, ...options, entryPoints: [join(pkgDir, 'core', `${name}.ts`)], outfile });
	Object.assign(inputs, result.metafile.inputs);
	const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].bytes;
	console.log(`bundle-core: ${outfile} (${(bytes / 1024).toFixed(0)} KiB)`);
}
await writeFile(join(vendorDir, 'THIRD_PARTY_NOTICES.txt'), await notices(inputs));

/** License texts of every package the bundles contain (their licenses ask for the notice to travel with the code). */
async function notices(inputs) {
	const packages = new Map();
	for (const input of Object.keys(inputs)) {
		const match = /^(.*node_modules\/)((?:@[^/]+\/)?[^/]+)\//.exec(input);
		if (match) packages.set(match[2], resolve(pkgDir, match[1], match[2]));
	}
	const sections = [];
	for (const [name, dir] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
		const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
		const text = await readLicense(dir);
		sections.push(`${name}@${pkg.version} (${pkg.license ?? 'see package'})\n\n${text ?? ''}`.trim());
	}
	await mkdir(vendorDir, { recursive: true });
	return `Third-party software bundled in switchyard-core.js and switchyard-tasks.js\n\n${sections.join('\n\n' + '-'.repeat(72) + '\n\n')}\n`;
}

async function readLicense(dir) {
	for (const name of ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license', 'LICENCE']) {
		try {
			return await readFile(join(dir, name), 'utf8');
		} catch {
			// try the next usual name
		}
	}
	return undefined;
}
