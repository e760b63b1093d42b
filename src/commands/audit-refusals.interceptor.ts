import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { catchError, from, mergeMap, Observable, throwError } from 'rxjs';
import { AuditService } from '../audit/audit.service';
import type { AuthedRequest } from '../auth/auth.guard';
import { isDatabaseUnavailable } from '../database/database-errors';
import { CooldownException, errorMessage } from './switch.service';

const AUDIT_ACTION_KEY = 'auditAction';
/** The audit action a route's refusals are recorded under, e.g. `command.switch`. */
export const AuditAction = (action: string) => SetMetadata(AUDIT_ACTION_KEY, action);

/**
 * Records every refused or failed call of an audited route (validation 400s
 * from the pipe included, since pipes run inside interceptors) with actor,
 * target and status. Successes are recorded by the services, which know the
 * command id. Also sets Retry-After for cooldown refusals.
 */
@Injectable()
export class AuditRefusalsInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = this.reflector.get<string | undefined>(AUDIT_ACTION_KEY, ctx.getHandler());
    if (!action || ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const res = ctx.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      catchError((err: unknown) => {
        const unavailable = !(err instanceof HttpException) && isDatabaseUnavailable(err);
        const status = err instanceof HttpException ? err.getStatus() : unavailable ? 503 : 500;
        if (err instanceof CooldownException) res.setHeader('Retry-After', String(err.retryAfterS));
        const record = this.audit.record({
          actor: req.actor ?? null,
          action,
          target: typeof req.params?.sn === 'string' ? req.params.sn : null,
          outcome: status < 500 ? 'refused' : 'failed',
          statusCode: status,
          detail: {
            error:
              err instanceof HttpException
                ? errorMessage(err)
                : unavailable
                  ? 'database unavailable'
                  : 'internal error',
            ...(isSmallBody(req.body) ? { request: req.body as unknown } : {}),
          },
          ip: req.ip ?? null,
        });
        // The trail lives in the database too: when that is what failed, the
        // attempt is recorded if it can be, but the answer does not wait for it.
        if (unavailable) return throwError(() => err);
        return from(record).pipe(mergeMap(() => throwError(() => err)));
      }),
    );
  }
}

/** Request bodies are kept in the audit detail only when small (a bulk list is not). */
function isSmallBody(body: unknown): boolean {
  if (body === undefined || body === null) return false;
  try {
    return JSON.stringify(body).length <= 2048;
  } catch {
    return false;
  }
}
