import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';

/** `max_voltage_v` → `maxVoltageV`: API field names are camelCase, the wire's snake_case. */
export function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function apiPath(root: string, path: PropertyKey[]): string {
  let out = root;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${camel(String(p))}`;
  return out;
}

/**
 * Validates an API value with the protocol's own schema (so the API accepts
 * exactly what may go on the wire) and turns zod issues into a 400 whose
 * messages name API fields.
 */
export function checkWire<T>(schema: z.ZodType<T>, value: unknown, root: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const messages = r.error.issues.map((i) => {
    const detail = i.message.replace(/\b[a-z]+(?:_[a-z]+)+\b/g, camel);
    return `${apiPath(root, i.path)}: ${detail}`;
  });
  throw new BadRequestException(messages);
}

/** 400 when a line number is beyond the concentrator's known line count. */
export function checkLineCount(
  lineCount: number | null,
  lines: { where: string; line: number }[],
): void {
  if (!lineCount) return;
  const beyond = lines.filter((l) => l.line > lineCount);
  if (beyond.length) {
    throw new BadRequestException(
      beyond.map(
        (b) => `${b.where}: line ${b.line} is beyond the concentrator's ${lineCount} lines`,
      ),
    );
  }
}
