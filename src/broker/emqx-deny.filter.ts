import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { DENY } from './emqx-body';

/**
 * Whatever goes wrong around an EMQX hook (a guard, a rate limit, a bug), the
 * answer is 200 "deny": EMQX reads any other status as "ignore".
 */
@Catch()
export class EmqxDenyFilter implements ExceptionFilter {
  catch(_exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (!res.headersSent) res.status(200).json(DENY);
  }
}
