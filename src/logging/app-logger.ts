import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { LogThrottle } from '../lib/log-throttle';

export type AppLogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';

const ORDER: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Every Nest level up to and including `level`. */
export function logLevelsUpTo(level: AppLogLevel): LogLevel[] {
  return ORDER.slice(0, ORDER.indexOf(level) + 1);
}

/**
 * Nest's own start-up chatter (one line per module, route and mapping: about a
 * hundred lines) buries the few lines an operator needs. It is kept for
 * LOG_LEVEL=debug, where someone is looking for it.
 */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
  'NestMicroservice',
]);

/**
 * While a dependency is down, every component that retries says so on every
 * attempt. The same line (digits aside) from the same place is printed once a
 * minute with the number held back, so the log stays readable during an outage.
 */
const REPEAT_PERIOD_MS = 60_000;

export class AppLogger extends ConsoleLogger {
  private readonly verboseStartup: boolean;
  private readonly repeats = new LogThrottle(REPEAT_PERIOD_MS, 1000);

  constructor(level: AppLogLevel) {
    super({ logLevels: logLevelsUpTo(level) });
    this.verboseStartup = level === 'debug' || level === 'verbose';
  }

  override log(message: unknown, ...rest: unknown[]): void {
    const context = rest[rest.length - 1];
    if (!this.verboseStartup && typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context)) {
      return;
    }
    super.log(message, ...rest);
  }

  override error(message: unknown, ...rest: unknown[]): void {
    const held = this.held('error', message, rest);
    if (held !== null) super.error(withHeld(message, held), ...rest);
  }

  override warn(message: unknown, ...rest: unknown[]): void {
    const held = this.held('warn', message, rest);
    if (held !== null) super.warn(withHeld(message, held), ...rest);
  }

  /** null: a repeat to hold back; else how many were held back since the last one printed. */
  private held(level: string, message: unknown, rest: unknown[]): number | null {
    if (typeof message !== 'string') return 0;
    const context = rest[rest.length - 1];
    const key = `${level}|${String(context)}|${message.replace(/[0-9]+/g, '#')}`;
    return this.repeats.take(key)?.held ?? null;
  }
}

function withHeld(message: unknown, held: number): unknown {
  return held > 0 && typeof message === 'string'
    ? `${message} (and ${held} like it in the last minute)`
    : message;
}
