// ESLint for the server (TypeScript) and the app (Svelte 5 + TypeScript); formatting is Prettier's job.
import js from '@eslint/js';
import ts from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

export default ts.config(
  {
    ignores: [
      'node_modules/',
      'app/build/',
      'app/.svelte-kit/',
      '.data/',
      'bench/results/',
      'test-results/',
      'scripts/worker/subprojects/',
    ],
  },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs['flat/recommended'],
  prettier,
  ...svelte.configs['flat/prettier'],
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Prettier wraps code at 140 but leaves long strings and comments alone: those stop at 160.
      'max-len': ['error', { code: 160 }],
      // The app has no base path: plain hrefs are the resolved ones.
      'svelte/no-navigation-without-resolve': 'off',
    },
  },
  {
    // Tests poke at loosely typed socket payloads and JSON bodies on purpose.
    files: ['tests/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The rule flags every Map/Set inside an exported class. These classes keep what the page shows in $state and
    // their own bookkeeping (transports, producers, timers, ids already seen) in plain collections nothing renders.
    files: ['app/src/lib/**/*.svelte.ts'],
    rules: { 'svelte/prefer-svelte-reactivity': 'off' },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } },
  },
);
