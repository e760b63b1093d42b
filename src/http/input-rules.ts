import { BadRequestException, INestApplication } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, Registry } from 'prom-client';
import { CONTROL_RULE, hasControlChars } from '../common/control-chars';
import { METRIC_PREFIX, METRICS_REGISTRY } from '../metrics/metrics-registry';

/**
 * Input rules every HTTP request meets before routing, guards and validation
 * (docs/security.md, "Input rules"). One place for what no field may ever
 * carry, so no DTO can forget it:
 * - no control characters in any string (path, query names and values, JSON
 *   keys and values): PostgreSQL refuses NUL in text, and the rest have no
 *   business in names, serials or filters. Tab, LF and CR stay allowed for
 *   free text; per-field rules may be stricter;
 * - no `__proto__`, `constructor` or `prototype` keys anywhere: unknown
 *   fields are 400 (api.md), and these are the ones that would otherwise be
 *   dropped silently or reach an object's prototype;
 * - JSON nesting at most MAX_BODY_DEPTH levels: validation walks bodies
 *   recursively and would overflow the stack long before the size limit.
 */
export const MAX_BODY_DEPTH = 32;

const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type InputRule = 'control_char' | 'reserved_key' | 'depth';

/** A broken rule: which one (for the metric) and the client-facing message. */
export interface InputProblem {
  rule: InputRule;
  message: string;
}

function keyPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

const control = (what: string): InputProblem => ({
  rule: 'control_char',
  message: `${what} ${CONTROL_RULE}`,
});
const reserved = (name: string): InputProblem => ({
  rule: 'reserved_key',
  message: `property ${name} should not exist`,
});

/**
 * The first rule a parsed JSON body breaks, or undefined. Iterative, so depth
 * costs no stack; stops at the first problem.
 */
export function jsonBodyProblem(
  body: unknown,
  maxDepth = MAX_BODY_DEPTH,
): InputProblem | undefined {
  const stack: { value: unknown; depth: number; path: string }[] = [
    { value: body, depth: 0, path: '' },
  ];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (hasControlChars(value)) return control(path || 'body');
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth + 1 > maxDepth) {
      return { rule: 'depth', message: `request body nested too deeply (max ${maxDepth})` };
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], depth: depth + 1, path: keyPath(path, i) });
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      if (RESERVED_KEYS.has(key)) return reserved(keyPath(path, key));
      if (hasControlChars(key)) return control('body field names');
      stack.push({
        value: (value as Record<string, unknown>)[key],
        depth: depth + 1,
        path: keyPath(path, key),
      });
    }
  }
  return undefined;
}

/** The first rule a query string breaks (names and decoded values), or undefined. */
export function queryProblem(query: Record<string, unknown>): InputProblem | undefined {
  for (const [name, raw] of Object.entries(query)) {
    if (RESERVED_KEYS.has(name)) return reserved(name);
    if (hasControlChars(name)) return control('query parameter names');
    for (const v of Array.isArray(raw) ? raw : [raw]) {
      if (typeof v === 'string' && hasControlChars(v)) return control(name);
    }
  }
  return undefined;
}

/** Control characters in the decoded path (path parameters are decoded the same way). */
export function pathProblem(path: string): InputProblem | undefined {
  if (!path.includes('%')) return undefined;
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      continue; // malformed escapes are the router's 400
    }
    if (hasControlChars(decoded)) return control('path');
  }
  return undefined;
}

/**
 * The middleware: after the body parsers, before everything else. `skip`:
 * path prefixes that answer malformed input their own way (the EMQX hooks
 * must answer 200 "deny", never an error status); compared without case, as
 * Express routes.
 */
export function enforceInputRules(
  skip: readonly string[] = [],
  onRefuse: (rule: InputRule) => void = () => undefined,
): RequestHandler {
  const prefixes = skip.map((p) => p.toLowerCase());
  return (req: Request, _res: Response, next: NextFunction) => {
    const path = req.path.toLowerCase();
    if (prefixes.some((p) => path === p || path.startsWith(`${p}/`))) return next();
    const problem =
      pathProblem(req.path) ??
      queryProblem(req.query as Record<string, unknown>) ??
      (req.body !== undefined ? jsonBodyProblem(req.body) : undefined);
    if (problem === undefined) return next();
    onRefuse(problem.rule);
    next(new BadRequestException(problem.message));
  };
}

/**
 * Installs the rules on the app (the EMQX hooks excepted) and counts the
 * refusals: they come before authentication, so they are not audited, and the
 * counter is what shows someone probing.
 */
export function installInputRules(app: INestApplication): void {
  const refused = new Counter({
    name: `${METRIC_PREFIX}http_input_refused_total`,
    help: 'HTTP requests refused with 400 by the global input rules, by rule',
    labelNames: ['rule'],
    registers: [app.get<Registry>(METRICS_REGISTRY)],
  });
  for (const rule of ['control_char', 'reserved_key', 'depth'] as const) refused.inc({ rule }, 0);
  app.use(enforceInputRules(['/broker/emqx'], (rule) => refused.inc({ rule })));
}
