// ESLint: typescript-eslint's recommended rules plus React hooks, for src, e2e, bench, tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'bench/dist', 'test-results', 'playwright-report'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,js,mjs}'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The float64 references are independent checks: app code never imports them (shared shapes,
    // adapter specs, training config and the RNG live in leaf modules both sides import).
    files: ['src/**/*.{ts,tsx}'],
    ignores: ['src/reference/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/reference/*'], message: 'App code must not import src/reference/ (use src/ops/shapes.ts, src/adapters/spec.ts, src/adapters/params.ts, src/train/config.ts, src/util/random.ts).' }] }],
    },
  },
);
