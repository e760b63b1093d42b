// Two projects: pure unit tests beside the code, and e2e tests that boot the
// real app against a real PostgreSQL and a real MQTT broker.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

module.exports = {
  // A backstop only: every e2e test and hook states its own timeout, sized for a loaded
  // 2-core CI machine, and bounds each wait inside it below that.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/tools/**/*.spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform: { '^.+\\.ts$': tsJest },
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
