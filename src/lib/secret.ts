import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of two secrets of any length (both hashed first). */
export function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
