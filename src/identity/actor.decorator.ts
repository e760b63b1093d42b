import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { AuthedRequest } from './authed-request';
import { Actor } from './roles';

/** The authenticated caller (set by AuthGuard), for audit and command records. */
export const CurrentActor = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Actor | null =>
    ctx.switchToHttp().getRequest<AuthedRequest>().actor ?? null,
);
