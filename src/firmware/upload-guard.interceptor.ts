import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  NestInterceptor,
  PayloadTooLargeException,
} from '@nestjs/common';
import type { Response } from 'express';
import { catchError, from, mergeMap, Observable, throwError } from 'rxjs';
import { AuditService } from '../audit/audit.service';
import type { AuthedRequest } from '../identity/authed-request';
import { APP_CONFIG, AppConfig } from '../config/app-config';

// Room for the text fields and part headers around the file in a multipart body.
const MULTIPART_OVERHEAD = 64 * 1024;

/**
 * Wraps the upload (outside the multipart parser): refuses a declared body
 * that cannot fit before a byte is read, and audits every refused upload,
 * whichever layer refused it (size cap, bad form, validation, conflict).
 */
@Injectable()
export class UploadGuardInterceptor implements NestInterceptor {
  constructor(
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const tooLarge = () =>
      new PayloadTooLargeException(
        `firmware larger than FIRMWARE_MAX_BYTES (${this.config.firmware.maxBytes} bytes)`,
      );
    const refuse = (caught: unknown) => {
      // multer's own message ("File too large") does not say which limit.
      const err = caught instanceof PayloadTooLargeException ? tooLarge() : caught;
      const status = err instanceof HttpException ? err.getStatus() : 500;
      const body = (req.body ?? {}) as Record<string, unknown>;
      // The row is written before the refusal goes out, so whoever reads the
      // audit log after the response finds it (record() never throws).
      const recorded = this.audit.record({
        actor: req.actor,
        action: 'firmware.upload',
        outcome: status < 500 ? 'refused' : 'failed',
        statusCode: status,
        ip: req.ip,
        detail: {
          version: typeof body.version === 'string' ? body.version.slice(0, 64) : undefined,
          model: typeof body.model === 'string' ? body.model.slice(0, 64) : undefined,
          contentLength: req.headers['content-length'],
          error: err instanceof Error ? err.message.slice(0, 300) : String(err),
        },
      });
      return from(recorded).pipe(mergeMap(() => throwError(() => err)));
    };
    const declared = Number(req.headers['content-length']);
    if (
      Number.isFinite(declared) &&
      declared > this.config.firmware.maxBytes + MULTIPART_OVERHEAD
    ) {
      // The body is not read: close the connection rather than drain it.
      ctx.switchToHttp().getResponse<Response>().setHeader('Connection', 'close');
      return refuse(tooLarge());
    }
    return next.handle().pipe(catchError(refuse));
  }
}
