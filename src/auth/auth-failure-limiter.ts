import { Inject, Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '../config/app-config';

const WINDOW_MS = 60_000;

/**
 * Counts 401s per client IP (IPv6 per /64) in the throttler's storage. After
 * RATE_LIMIT_AUTH_FAILURES_PER_MIN of them within a minute the IP is blocked
 * for a minute: every API request from it gets 429, even with a valid token,
 * so guessing tokens costs an attacker a minute per batch.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Seconds the client stays blocked; 0 when it is not. */
  blockedFor(client: string, now = Date.now()): number {
    const until = this.blockedUntil.get(client);
    if (until === undefined) return 0;
    if (until <= now) {
      this.blockedUntil.delete(client);
      return 0;
    }
    return Math.ceil((until - now) / 1000);
  }

  async recordFailure(client: string): Promise<void> {
    const limit = this.config.rateLimit.authFailuresPerMin;
    // The storage blocks once hits exceed its limit: limit - 1 blocks right at the Nth failure.
    const r = await this.storage.increment(
      `auth-failures:${client}`,
      WINDOW_MS,
      limit - 1,
      WINDOW_MS,
      'auth-failures',
    );
    if (r.isBlocked) {
      this.sweep();
      this.blockedUntil.set(client, Date.now() + Math.max(1, r.timeToBlockExpire) * 1000);
    }
  }

  private sweep(now = Date.now()): void {
    for (const [k, until] of this.blockedUntil) if (until <= now) this.blockedUntil.delete(k);
  }
}
