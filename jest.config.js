// ES modules end to end: @kubernetes/client-node is ESM-only, so jest runs with
// --experimental-vm-modules and swc strips types without changing the module format.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  testTimeout: 60000,
  // One clean-clone run passed every suite and then did not exit (an open handle left by some
  // test, not found yet): exit once the results are in rather than hang CI.
  forceExit: true,
  // Worker processes (two in npm test), not in band: under --experimental-vm-modules a worker's
  // heap grows by about 8 MB per file and is never freed; past this size jest replaces the worker
  // rather than let garbage collection slow every later file.
  workerIdleMemoryLimit: '1200MB',
  // The state Redis the tests use: REDIS_URL or 127.0.0.1:6379, or one started for the run.
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
};
