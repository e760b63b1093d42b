import { BadRequestException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import {
  enforceInputRules,
  InputProblem,
  InputRule,
  jsonBodyProblem,
  MAX_BODY_DEPTH,
  pathProblem,
  queryProblem,
} from './input-rules';

const nested = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));
const body = (v: unknown) => jsonBodyProblem(v)?.message;
const query = (q: Record<string, unknown>) => queryProblem(q)?.message;
const path = (p: string) => pathProblem(p)?.message;

describe('jsonBodyProblem', () => {
  it('accepts ordinary bodies, including tab, LF and CR in text', () => {
    expect(body({ name: 'Kitchen', site: null, n: 1, lines: [1, 2] })).toBeUndefined();
    expect(body({ note: 'line 1\nline 2\r\n\tindented' })).toBeUndefined();
    expect(body({ items: [{ at: '22:30', days: [1, 2] }] })).toBeUndefined();
    expect(body(nested(MAX_BODY_DEPTH))).toBeUndefined();
  });

  it('refuses nesting beyond the limit, however deep, without recursion', () => {
    const deep: InputProblem = {
      rule: 'depth',
      message: `request body nested too deeply (max ${MAX_BODY_DEPTH})`,
    };
    expect(jsonBodyProblem(nested(MAX_BODY_DEPTH + 1))).toEqual(deep);
    expect(jsonBodyProblem(nested(60_000))).toEqual(deep);
    const objects = JSON.parse('{"a":'.repeat(30_000) + '1' + '}'.repeat(30_000));
    expect(jsonBodyProblem(objects)).toEqual(deep);
  });

  it('refuses __proto__, constructor and prototype keys at any depth, naming the path', () => {
    expect(jsonBodyProblem(JSON.parse('{"__proto__":{"admin":true}}'))).toEqual({
      rule: 'reserved_key',
      message: 'property __proto__ should not exist',
    });
    expect(body({ items: [{ ok: 1 }, { constructor: 1 }] })).toBe(
      'property items[1].constructor should not exist',
    );
    expect(body({ a: { b: { prototype: {} } } })).toBe('property a.b.prototype should not exist');
  });

  it('refuses NUL and other control characters in values and keys, naming the field', () => {
    expect(jsonBodyProblem({ name: 'kitchen\u0000' })?.rule).toBe('control_char');
    expect(body({ name: 'kitchen\u0000' })).toMatch(/^name must not contain control/);
    expect(body({ items: [{ at: '\u0007' }] })).toMatch(/^items\[0\]\.at must not/);
    expect(body({ x: '\u007f' })).toMatch(/^x must not/);
    expect(body({ ['k\u0000']: 1 })).toMatch(/^body field names must not/);
    expect(body(['\u0000'])).toMatch(/^\[0\] must not/);
  });
});

describe('queryProblem and pathProblem', () => {
  it('name the query parameter that carries a control character or a reserved name', () => {
    expect(query({ site: 'north', limit: '10' })).toBeUndefined();
    expect(query({ site: '\u0000' })).toMatch(/^site must not contain control/);
    expect(query({ sn: ['202005010001', 'a\u0000'] })).toMatch(/^sn must not/);
    expect(query(Object.fromEntries([['__proto__', 'x']]))).toBe(
      'property __proto__ should not exist',
    );
  });

  it('decode path segments the way path parameters are decoded', () => {
    expect(path('/api/v1/commands/c-1')).toBeUndefined();
    expect(path('/api/v1/commands/%00')).toMatch(/^path must not contain control/);
    expect(path('/api/v1/commands/a%07b')).toMatch(/^path must not/);
    expect(path('/api/v1/commands/%2500')).toBeUndefined(); // the text "%00"
    expect(path('/api/v1/commands/%E0%A4%A')).toBeUndefined(); // malformed: the router's 400
  });
});

describe('enforceInputRules middleware', () => {
  const run = (req: Partial<Request>, skip: string[] = []) => {
    let passed: unknown = 'not called';
    const refused: InputRule[] = [];
    const next: NextFunction = (err?: unknown) => (passed = err);
    enforceInputRules(skip, (rule) => refused.push(rule))(
      { path: '/', query: {}, ...req } as Request,
      {} as Response,
      next,
    );
    return { passed, refused };
  };

  it('passes clean requests and skips the listed prefixes, in any case', () => {
    expect(run({ path: '/api/v1/x', query: { a: 'b' }, body: { c: 'd' } })).toEqual({
      passed: undefined,
      refused: [],
    });
    for (const p of ['/broker/emqx/authn', '/BROKER/Emqx/authz']) {
      expect(run({ path: p, body: { u: '\u0000' } }, ['/broker/emqx']).passed).toBeUndefined();
    }
  });

  it('hands a 400 to the exception filter for the first problem, and reports its rule', () => {
    const { passed, refused } = run({ path: '/api/v1/x', body: nested(100) });
    expect(passed).toBeInstanceOf(BadRequestException);
    expect((passed as BadRequestException).message).toContain('nested too deeply');
    expect(refused).toEqual(['depth']);
    const other = run({ path: '/broker/emqxx', body: { u: '\u0000' } }, ['/broker/emqx']);
    expect(other.passed).toBeInstanceOf(BadRequestException);
    expect(other.refused).toEqual(['control_char']);
  });
});
