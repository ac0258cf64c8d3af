/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Undoes http.request patches (nock, Zapier) that earlier test files of the worker left behind.
  setupFiles: ['<rootDir>/test/helpers/pristine-http.ts'],
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2023' }, module: { type: 'commonjs' } }] },
  // ESM-only dependencies are compiled to CommonJS for jest's module system.
  transformIgnorePatterns: ['/node_modules/(?!(eventsource-parser|commander)/)'],
  testTimeout: 20000,
};
