import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // connectors/n8n is linted with n8n's own rules (its npm run lint); the Zapier app with these.
    ignores: ['**/dist/', '**/node_modules/', '**/build/', 'coverage/', 'connectors/n8n/', '**/*.js', '**/*.mjs'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  { files: ['src/cli/**', 'src/bench/**', 'test/**'], rules: { 'no-console': 'off' } },
);
