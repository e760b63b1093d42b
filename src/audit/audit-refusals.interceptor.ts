import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { from, mergeMap, Observable, throwError } from 'rxjs';
import { catchError } from 'rxjs/operators';
import type { AuthedRequest } from '../identity/authed-request';
import { AuditActionName } from './audit-actions';
import { AuditService, failureOf } from './audit.service';

const AUDIT_ACTION_KEY = 'auditAction';
/** The audit action a route's refusals are recorded under, e.g. `command.switch`. */
export const AuditAction = (action: AuditActionName) => SetMetadata(AUDIT_ACTION_KEY, action);

/**
 * Records every refused or failed call of an audited route (validation 400s
 * from the pipe included, since pipes run inside interceptors) with actor,
 * target and status. Successes are recorded by the services, which know what
 * they did (the command id, say).
 */
@Injectable()
export class AuditRefusalsInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = this.reflector.get<AuditActionName | undefined>(
      AUDIT_ACTION_KEY,
      ctx.getHandler(),
    );
    if (!action || ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    return next.handle().pipe(
      catchError((err: unknown) => {
        const f = failureOf(err);
        const record = this.audit.record({
          actor: req.actor ?? null,
          action,
          target: typeof req.params?.sn === 'string' ? req.params.sn : null,
          outcome: f.outcome,
          statusCode: f.statusCode,
          detail: {
            error: f.error,
            ...(isSmallBody(req.body) ? { request: req.body as unknown } : {}),
          },
          ip: req.ip ?? null,
        });
        // The trail lives in the database too: when that is what failed, the
        // attempt is recorded if it can be, but the answer does not wait for it.
        if (f.statusCode === 503) return throwError(() => err);
        return from(record).pipe(mergeMap(() => throwError(() => err)));
      }),
    );
  }
}

/** Kept in the trail when small: enough to see what was asked, never a whole upload. */
function isSmallBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && JSON.stringify(body).length <= 2048;
}
