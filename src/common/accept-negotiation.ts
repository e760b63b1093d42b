import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  NotAcceptableException,
  applyDecorators,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiProduces, ApiResponse, DECORATORS } from '@nestjs/swagger';
import type { Request } from 'express';
import type { Observable } from 'rxjs';

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

/** What a route produces when it declares nothing (Nest serialises the return value). */
export const DEFAULT_PRODUCES: readonly string[] = ['application/json'];

/**
 * The Accept header's media ranges; null when it sets no constraint (absent,
 * empty, or nothing in it parses: an unreadable header is not a reason to
 * refuse an answer the client may well read).
 */
function parseAccept(accept: string | readonly string[] | undefined): MediaRange[] | null {
  const header = typeof accept === 'string' ? accept : (accept ?? []).join(',');
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [range, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    // A bare `*` is what some old HTTP clients send for `*/*`.
    const [type, subtype] = range === '*' ? ['*', '*'] : range.split('/');
    if (!type || !subtype || (type === '*' && subtype !== '*')) continue;
    let q = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([0-9.]+)$/.exec(p);
      if (m && Number.isFinite(Number(m[1]))) q = Math.min(1, Number(m[1]));
    }
    ranges.push({ type, subtype, q });
  }
  return ranges.length ? ranges : null;
}

/**
 * The quality the client gives `mediaType`: that of the most specific range
 * matching it (exact type over a subtype wildcard over the full wildcard), the highest among equally
 * specific ones (parameters other than q are not compared); 0 if none matches.
 */
function quality(ranges: readonly MediaRange[], mediaType: string): number {
  const [type, subtype] = mediaType.toLowerCase().split(';')[0].trim().split('/');
  let best = -1;
  let q = 0;
  for (const r of ranges) {
    const specificity =
      r.type === type && r.subtype === subtype
        ? 2
        : r.type === type && r.subtype === '*'
          ? 1
          : r.type === '*'
            ? 0
            : -1;
    if (specificity < 0 || specificity < best) continue;
    q = specificity > best ? r.q : Math.max(q, r.q);
    best = specificity;
  }
  return q;
}

/**
 * Proactive negotiation (RFC 9110 §12.5.1): the offered type the Accept header
 * rates highest, the earlier one in `offered` on a tie (so JSON stays the
 * answer of a JSON-or-CSV route to the full wildcard, to browsers and to
 * `text/csv, application/json`); null when the header admits none of them
 * (q=0 or no matching range). No Accept header admits everything.
 */
export function negotiate(
  accept: string | readonly string[] | undefined,
  offered: readonly string[],
): string | null {
  const ranges = parseAccept(accept);
  if (!ranges) return offered[0] ?? null;
  let chosen: string | null = null;
  let chosenQ = 0;
  for (const t of offered) {
    const q = quality(ranges, t);
    if (q > chosenQ) [chosen, chosenQ] = [t, q];
  }
  return chosen;
}

/**
 * Answers 406 Not Acceptable, before the handler runs, when the Accept header
 * admits nothing a route produces. What a route produces is what it documents
 * with `@ApiProduces` (JSON when it declares nothing), so Swagger and the
 * behaviour cannot drift apart: /metrics (text/plain), the SSE stream and
 * firmware downloads keep answering their clients. Runs after the guards, so a
 * request without a token still gets 401.
 */
@Injectable()
export class AcceptInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // Global interceptors also wrap the MQTT transport's handlers.
    if (context.getType() !== 'http') return next.handle();
    const declared = this.reflector.getAllAndOverride<string[] | undefined>(
      DECORATORS.API_PRODUCES,
      [context.getHandler(), context.getClass()],
    );
    const produces = declared?.length ? declared : DEFAULT_PRODUCES;
    const req = context.switchToHttp().getRequest<Request>();
    if (negotiate(req.headers.accept, produces) === null) {
      throw new NotAcceptableException(
        `this resource is available as ${produces.join(' or ')} only; the Accept header admits none of them`,
      );
    }
    return next.handle();
  }
}

/** Swagger for a route that answers in several types, chosen by Accept (see AcceptInterceptor). */
export const ApiNegotiated = (...types: string[]) =>
  applyDecorators(
    ApiProduces(...types),
    ApiResponse({
      status: 406,
      description: `the Accept header admits none of ${types.join(', ')}`,
    }),
  );
