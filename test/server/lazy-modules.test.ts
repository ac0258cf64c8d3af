/**
 * Modules only some deployments need are loaded on first use, not at start: each costs RSS to
 * every gateway (undici ~30 MB with its WASM parser, twilio ~10 MB), see src/bench/README.md.
 */
const OPTIONAL_MODULES = ['undici', 'twilio/lib/webhooks/webhooks', 'twilio/lib/twiml/MessagingResponse', 'ajv', 'ajv-formats'];

function loadWatching(entry: string): string[] {
  const loaded: string[] = [];
  jest.isolateModules(() => {
    for (const name of OPTIONAL_MODULES) {
      jest.doMock(name, () => {
        loaded.push(name);
        return jest.requireActual(name);
      });
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(entry);
  });
  return loaded;
}

afterEach(() => {
  for (const name of OPTIONAL_MODULES) jest.dontMock(name);
});

test('starting the server code loads none of the optional modules', () => {
  expect(loadWatching('../../src/server/server')).toEqual([]);
});

test('the CLI entry point loads none of them either', () => {
  expect(loadWatching('../../src/cli/main')).toEqual([]);
});

test('the webhook subsystem loads undici only when a callback is sent, twilio only for Twilio', () => {
  expect(loadWatching('../../src/webhooks')).toEqual([]);
});

test('a JSON schema loads ajv when it is first compiled', () => {
  const loaded: string[] = [];
  jest.isolateModules(() => {
    jest.doMock('ajv', () => {
      loaded.push('ajv');
      return jest.requireActual('ajv');
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { jsonSchemaProblem } = require('../../src/core/tasks/json') as typeof import('../../src/core/tasks/json');
    expect(loaded).toEqual([]);
    expect(jsonSchemaProblem({ type: 'object', properties: { a: { type: 'string', format: 'email' } } })).toBeUndefined();
  });
  expect(loaded).toEqual(['ajv']);
});
