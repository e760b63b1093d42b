import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';

/**
 * One error shape for every HTTP error ({statusCode, error, message}), no
 * internals leaked on 500s; on the MQTT side an error is logged and swallowed
 * so one bad message never tears down the transport.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly log = new Logger('Errors');

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
    this.log.error(describe(exception), (exception as Error)?.stack);
    res
      .status(500)
      .json({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  }
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
