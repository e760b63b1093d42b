import {
  DEFAULT_ITERATIONS,
  generatePassword,
  hashPassword,
  hashPasswordSync,
  parseHash,
  verifyPassword,
} from './password-hash';

// Written by the real `mosquitto_passwd -b` (mosquitto 2.0.11) for password "secret".
const MOSQUITTO_PASSWD_SECRET =
  '$7$101$gofP52Gb+LNJBX15$UtZeReGkmHUN6pSlVHcQTe8eHa6bP3hUUKiTQmxfiRRgY5avL8esH3FyTHg8hvPK8GXHU1vfJBZ+gYVnrWkNCw==';

describe('device password hashes (mosquitto $7$)', () => {
  it('verifies a hash written by mosquitto_passwd', async () => {
    await expect(verifyPassword('secret', MOSQUITTO_PASSWD_SECRET)).resolves.toBe(true);
    await expect(verifyPassword('Secret', MOSQUITTO_PASSWD_SECRET)).resolves.toBe(false);
    await expect(verifyPassword(Buffer.from('secret'), MOSQUITTO_PASSWD_SECRET)).resolves.toBe(
      true,
    );
  });

  it("writes mosquitto's layout: 12-byte salt, 64-byte PBKDF2-SHA512 key, the iteration count", async () => {
    const h = await hashPassword('pw');
    expect(h).toMatch(/^\$7\$10000\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    expect(parseHash(h)).toMatchObject({ iterations: DEFAULT_ITERATIONS });
    expect(parseHash(h)!.salt).toHaveLength(12);
    await expect(verifyPassword('pw', h)).resolves.toBe(true);
    await expect(verifyPassword('pw ', h)).resolves.toBe(false);
  });

  it('salts every hash and keeps a chosen work factor', async () => {
    const a = hashPasswordSync('same', 101);
    const b = hashPasswordSync('same', 101);
    expect(a).not.toBe(b);
    expect(a.startsWith('$7$101$')).toBe(true);
    await expect(verifyPassword('same', b)).resolves.toBe(true);
    expect(() => hashPasswordSync('x', 100)).toThrow(RangeError);
    expect(() => hashPasswordSync('x', 1_000_001)).toThrow(RangeError);
  });

  it('treats malformed stored values as a non-match, never a throw', async () => {
    for (const bad of [
      '',
      'plain',
      '$6$abc$def',
      '$7$101$c2FsdA==',
      '$7$0$c2FsdA==$' + 'A'.repeat(88),
      '$7$101$c2FsdA==$c2hvcnQ=',
      '$7$101$$' + 'A'.repeat(86) + '==',
    ]) {
      await expect(verifyPassword('x', bad)).resolves.toBe(false);
    }
  });

  it('generates 192-bit URL-safe passwords', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      expect(p).toMatch(/^[A-Za-z0-9_-]{32}$/);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
  });
});
