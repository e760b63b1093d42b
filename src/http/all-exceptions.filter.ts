import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';
import {
  DATABASE_RETRY_AFTER_S,
  UnavailableKind,
  unavailableKind,
} from '../database/database-errors';
import { LogThrottle } from '../lib/log-throttle';

/**
 * One error shape for every HTTP error ({statusCode, error, message}), no
 * internals leaked on 500s; a database that cannot serve the request is a
 * 503 with Retry-After and `code: database_unavailable`, never a 500. On the
 * MQTT side an error is logged and swallowed so one bad message never tears
 * down the transport.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly log = new Logger('Errors');
  private readonly unavailableLog = new LogThrottle(60_000);

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') {
      this.log.error(`unhandled ${host.getType()} error: ${describe(exception)}`);
      return;
    }
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const obj =
        typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      // A refusal that knows when to come back (a cooldown, a cap) says so in the header too.
      if (typeof obj.retryAfterS === 'number')
        res.setHeader('Retry-After', String(obj.retryAfterS));
      res.status(status).json({
        ...obj,
        statusCode: status,
        error: (obj.error as string) ?? httpErrorName(status),
        message: obj.message ?? (typeof body === 'string' ? body : exception.message),
      });
      return;
    }
    const e = exception as { type?: string; status?: number };
    // body-parser errors (bad JSON, too large) are client errors, not crashes.
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({
        statusCode: e.status,
        error: httpErrorName(e.status),
        message:
          e.type === 'entity.too.large' ? 'request body too large' : 'malformed request body',
      });
      return;
    }
    const unavailable = unavailableKind(exception);
    if (unavailable) {
      // An outage is expected operation, not a crash: one line per kind a minute, no stack.
      if (this.unavailableLog.take(unavailable)) {
        this.log.warn(`database unavailable (${unavailable}): ${describe(exception)}`);
      }
      res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_S));
      res.status(503).json(databaseUnavailableBody(unavailable));
      return;
    }
    this.log.error(describe(exception), (exception as Error)?.stack);
    res
      .status(500)
      .json({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  }
}

const UNAVAILABLE_MESSAGE: Record<UnavailableKind, string> = {
  unreachable: 'database unavailable: it cannot be reached; retry later',
  timeout: 'database unavailable: it did not answer in time; retry later',
  overloaded: 'database unavailable: it accepts no more connections; retry later',
};

/** The 503 body of a request the database could not serve (no address, no SQL). */
export function databaseUnavailableBody(kind: UnavailableKind) {
  return {
    statusCode: 503,
    error: 'Service Unavailable',
    message: UNAVAILABLE_MESSAGE[kind],
    code: 'database_unavailable',
  };
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function httpErrorName(status: number): string {
  const name = HttpStatus[status];
  return name
    ? name
        .toLowerCase()
        .split('_')
        .map((w) => w[0].toUpperCase() + w.slice(1))
        .join(' ')
    : 'Error';
}
