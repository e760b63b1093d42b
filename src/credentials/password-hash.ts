import { pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/**
 * Mosquitto 2's password_file hash (`mosquitto_passwd -H sha512-pbkdf2`):
 * `$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512 of 64 bytes>`.
 * Storing exactly this lets one stored value serve the embedded broker, the
 * EMQX hooks and an exported mosquitto password_file alike.
 */
const SALT_BYTES = 12;
const KEY_BYTES = 64;
const HASH_RE = /^\$7\$([0-9]{1,7})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** mosquitto_passwd's own default; the floor, never the recommendation. */
export const MIN_ITERATIONS = 101;
export const MAX_ITERATIONS = 1_000_000;
/**
 * ≈7 ms per check on one core. Device passwords are 192-bit random strings, so
 * the work factor only slows an offline attack on a leaked hash that entropy
 * already defeats; it must stay low enough that mosquitto (single-threaded,
 * hashing on every CONNECT) survives a fleet-wide reconnect.
 */
export const DEFAULT_ITERATIONS = 10_000;

/** 24 random bytes as base64url: 32 URL-safe characters, 192 bits. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

function format(iterations: number, salt: Buffer, key: Buffer): string {
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function checkIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iterations must be an integer ${MIN_ITERATIONS}-${MAX_ITERATIONS}`);
  }
}

export async function hashPassword(
  password: string,
  iterations = DEFAULT_ITERATIONS,
): Promise<string> {
  checkIterations(iterations);
  const salt = randomBytes(SALT_BYTES);
  return format(
    iterations,
    salt,
    await pbkdf2Async(password, salt, iterations, KEY_BYTES, 'sha512'),
  );
}

/** Synchronous twin for start-up and file export, where no event loop is contended. */
export function hashPasswordSync(password: string, iterations = DEFAULT_ITERATIONS): string {
  checkIterations(iterations);
  const salt = randomBytes(SALT_BYTES);
  return format(iterations, salt, pbkdf2Sync(password, salt, iterations, KEY_BYTES, 'sha512'));
}

interface ParsedHash {
  iterations: number;
  salt: Buffer;
  key: Buffer;
}

export function parseHash(stored: string): ParsedHash | null {
  const m = HASH_RE.exec(stored);
  if (!m) return null;
  const iterations = Number(m[1]);
  const salt = Buffer.from(m[2], 'base64');
  const key = Buffer.from(m[3], 'base64');
  if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) return null;
  if (salt.length === 0 || key.length !== KEY_BYTES) return null;
  return { iterations, salt, key };
}

/** False for a wrong password and for a stored value that is not a valid `$7$` hash. */
export async function verifyPassword(password: string | Buffer, stored: string): Promise<boolean> {
  const p = parseHash(stored);
  if (!p) return false;
  const key = await pbkdf2Async(password, p.salt, p.iterations, KEY_BYTES, 'sha512');
  return timingSafeEqual(key, p.key);
}
