import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { AuthedRequest } from '../auth/auth.guard';
import { Actor } from '../auth/roles';

/** The authenticated caller (set by AuthGuard), for audit and command records. */
export const CurrentActor = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Actor | null =>
    ctx.switchToHttp().getRequest<AuthedRequest>().actor ?? null,
);
