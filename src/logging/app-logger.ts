import { ConsoleLogger, LogLevel } from '@nestjs/common';

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

export class AppLogger extends ConsoleLogger {
  private readonly verboseStartup: boolean;

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
}
