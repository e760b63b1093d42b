import type { Request } from 'express';

/**
 * Route classification for the access guard. It works on the matched route
 * template (req.route.path, e.g. /api/v1/concentrators/:sn/switch), not on the
 * raw URL: Express matches paths case-insensitively and ignores a trailing
 * slash, so a check on req.path could be sidestepped with /API/v1/….
 */
export function routeTemplate(req: Request): string {
  const p = (req.route as { path?: unknown } | undefined)?.path;
  return (typeof p === 'string' ? p : req.path).toLowerCase();
}

/**
 * The only routes answered without a token; everything else needs one (fail
 * closed: a new route is private until listed here and in test/access.e2e-spec.ts).
 * `throttle: false`: /health and /metrics are polled by monitoring, and the
 * EMQX hooks carry the broker's connection storm after an outage (a 429 would
 * make EMQX refuse the devices); those hooks check their own shared secret.
 */
export const PUBLIC_ROUTES: readonly { pattern: RegExp; throttle: boolean }[] = [
  { pattern: /^\/health\/?$/, throttle: false },
  { pattern: /^\/metrics\/?$/, throttle: false },
  { pattern: /^\/broker\/emqx\//, throttle: false },
  { pattern: /^\/firmware\//, throttle: true },
];

export function publicRoute(template: string): { throttle: boolean } | undefined {
  return PUBLIC_ROUTES.find((r) => r.pattern.test(template));
}

const COMMAND_ROUTES = [
  /^\/api\/v1\/concentrators\/[^/]+\/(switch|query|reboot|config|schedules|params)\/?$/,
  /^\/api\/v1\/commands(\/|$)/,
  /^\/api\/v1\/upgrades(\/|$)/,
];

/**
 * Requests that make a concentrator do something (switch, query, reboot,
 * desired state, upgrades): a stricter rate limit, and every refusal audited.
 */
export function isCommandRequest(method: string, template: string): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  return COMMAND_ROUTES.some((r) => r.test(template));
}
