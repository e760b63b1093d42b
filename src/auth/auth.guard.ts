import { ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  normalizeIp,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerRequest,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { AccessDenials, Denial } from './access-denials';
import { isCommandRequest, publicRoute, routeTemplate } from './access-routes';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { MIN_ROLE_KEY, Role, roleAtLeast } from '../identity/roles';
import type { AuthedRequest } from '../identity/authed-request';
import { TokenVerifier } from '../tokens/token-verifier';

// The scheme is case-insensitive (RFC 9110 §11.1); the token is base64url/bootstrap text.
const BEARER_RE = /^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/i;

/** Thrown by the throttler; carries the wait so the handler can set Retry-After. */
class RateLimited extends HttpException {
  constructor(readonly retryAfterS: number) {
    super(
      {
        statusCode: 429,
        error: 'Too Many Requests',
        message: `rate limit exceeded; retry after ${retryAfterS} s`,
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/**
 * The one global guard of the HTTP API, in this order:
 * 1. public routes (access-routes.ts) pass, rate-limited per IP except
 *    /health, /metrics and the broker hooks;
 * 2. a client IP blocked for repeated 401s gets 429;
 * 3. a bearer token must resolve (401 otherwise, counted towards 2);
 * 4. its role must reach the route's @MinRole (admin when a route forgot to
 *    declare one: fail closed) — 403 otherwise;
 * 5. per-token rate limits (@nestjs/throttler): every request, and stricter
 *    for command routes — 429 with Retry-After.
 * Refusals are counted in /metrics and, on command routes, audited.
 */
@Injectable()
export class AuthGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly tokens: TokenVerifier,
    private readonly failures: AuthFailureLimiter,
    private readonly denials: AccessDenials,
  ) {
    super(options, storage, reflector);
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const res = ctx.switchToHttp().getResponse<Response>();
    const template = routeTemplate(req);
    const pub = publicRoute(template);
    if (pub) return pub.throttle ? super.canActivate(ctx) : true;

    const client = clientKey(req);
    const command = isCommandRequest(req.method, template);
    const deny = async (
      d: Omit<Denial, 'req' | 'client' | 'command'>,
      e: HttpException,
    ): Promise<never> => {
      await this.denials.record({ ...d, req, client, command });
      throw e;
    };

    const blockedS = this.failures.blockedFor(client);
    if (blockedS > 0) {
      res.setHeader('Retry-After', String(blockedS));
      await deny({ status: 429, reason: 'blocked' }, new RateLimited(blockedS));
    }

    const header = req.headers.authorization;
    const m = header === undefined ? null : BEARER_RE.exec(header);
    const check = m ? await this.tokens.check(m[1]) : null;
    if (!check?.ok) {
      const reason = check ? check.reason : header === undefined ? 'missing' : 'malformed';
      await this.failures.recordFailure(client);
      res.setHeader(
        'WWW-Authenticate',
        reason === 'missing' ? 'Bearer realm="api"' : 'Bearer realm="api", error="invalid_token"',
      );
      await deny({ status: 401, reason }, new HttpException(UNAUTHORIZED[reason], 401));
      return false;
    }

    const actor = check.actor;
    const need =
      this.reflector.getAllAndOverride<Role>(MIN_ROLE_KEY, [ctx.getHandler(), ctx.getClass()]) ??
      'admin';
    if (!roleAtLeast(actor.role, need)) {
      await deny(
        { status: 403, reason: 'forbidden', actor, detail: { minRole: need, role: actor.role } },
        new HttpException(`role ${actor.role} is below the required ${need}`, 403),
      );
    }
    req.actor = actor;
    return super.canActivate(ctx);
  }

  protected override async handleRequest(p: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(p);
    } catch (err) {
      if (!(err instanceof RateLimited)) throw err;
      const req = p.context.switchToHttp().getRequest<AuthedRequest>();
      const res = p.context.switchToHttp().getResponse<Response>();
      res.setHeader('Retry-After', String(err.retryAfterS));
      const template = routeTemplate(req);
      await this.denials.record({
        req,
        client: clientKey(req),
        command: isCommandRequest(req.method, template),
        status: 429,
        reason: 'rate_limit',
        actor: req.actor,
        detail: { limit: p.throttler.name, perMin: p.limit },
      });
      throw err;
    }
  }

  protected override throwThrottlingException(
    _: ExecutionContext,
    d: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new RateLimited(Math.max(1, d.timeToBlockExpire));
  }

  /** Per token when authenticated (all of a token's requests share one budget), else per IP. */
  protected override getTracker(req: AuthedRequest): Promise<string> {
    const a = req.actor;
    return Promise.resolve(a ? `token:${a.tokenId ?? a.name}` : `ip:${clientKey(req)}`);
  }

  protected override generateKey(_: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }
}

const UNAUTHORIZED: Record<string, string> = {
  missing: 'missing bearer token',
  malformed: 'malformed Authorization header (expected "Bearer <token>")',
  invalid: 'invalid token',
  expired: 'token expired',
  revoked: 'token revoked',
};

/** The client's address (honours TRUST_PROXY via req.ip); IPv6 grouped by /64. */
export function clientKey(req: Request): string {
  return normalizeIp(req.ip ?? req.socket.remoteAddress ?? 'unknown');
}
