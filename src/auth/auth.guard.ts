import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Actor, MIN_ROLE_KEY, Role, roleAtLeast } from './roles';
import { TokenService } from './token.service';

export type AuthedRequest = Request & { actor?: Actor };

const BEARER_RE = /^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/;

/**
 * Every /api/v1 route needs a bearer token whose role reaches the route's
 * @MinRole (admin when a route forgot to declare one: fail closed).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    if (!req.path.startsWith('/api/')) return true;
    const header = req.headers.authorization ?? '';
    const m = BEARER_RE.exec(header);
    if (!m) throw new UnauthorizedException('missing or malformed bearer token');
    const actor = await this.tokens.verify(m[1]);
    if (!actor) throw new UnauthorizedException('invalid token');
    const need =
      this.reflector.getAllAndOverride<Role>(MIN_ROLE_KEY, [ctx.getHandler(), ctx.getClass()]) ??
      'admin';
    if (!roleAtLeast(actor.role, need)) {
      throw new ForbiddenException(`role ${actor.role} is below the required ${need}`);
    }
    req.actor = actor;
    return true;
  }
}
