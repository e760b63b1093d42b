import { ThrottlerStorageService } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import { AuthFailureLimiter } from './auth-failure-limiter';

describe('AuthFailureLimiter', () => {
  const storage = new ThrottlerStorageService();
  afterAll(() => storage.onApplicationShutdown());
  const limiter = (n: number) =>
    new AuthFailureLimiter(storage, { rateLimit: { authFailuresPerMin: n } } as AppConfig);

  it('blocks a client for the window right at the Nth failure, and no other client', async () => {
    const l = limiter(3);
    await l.recordFailure('a');
    await l.recordFailure('a');
    expect(l.blockedFor('a')).toBe(0);
    await l.recordFailure('a');
    expect(l.blockedFor('a')).toBeGreaterThan(55);
    expect(l.blockedFor('a')).toBeLessThanOrEqual(60);
    expect(l.blockedFor('b')).toBe(0);
    expect(l.blockedFor('a', Date.now() + 61_000)).toBe(0);
  });

  it('with a limit of 1, the first failure blocks', async () => {
    const l = limiter(1);
    await l.recordFailure('c');
    expect(l.blockedFor('c')).toBeGreaterThan(0);
  });
});
