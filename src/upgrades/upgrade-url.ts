// The device fetches this URL itself, often with a small HTTP client that
// parses URLs differently from WHATWG. So anything two parsers could read
// differently (userinfo, backslashes, whitespace, control or invisible
// characters) is refused rather than normalised, and only http(s) is allowed.

export const MAX_UPGRADE_URL_LENGTH = 2048;

export type UrlCheck = { ok: true; url: string; host: string } | { ok: false; reason: string };

// Whitespace, C0/C1 controls and format characters (zero-width, bidi overrides).
const FORBIDDEN_CHARS_RE = /[\s\p{Cc}\p{Cf}]/u;

/**
 * Checks an external firmware URL. Plain http is accepted only for hosts on
 * the allow-list (UPGRADE_HTTP_ALLOW_HOSTS: integrators' private web servers);
 * entries match the hostname, or `host:port` for one port only.
 */
export function checkUpgradeUrl(raw: unknown, httpAllowHosts: readonly string[]): UrlCheck {
  if (typeof raw !== 'string' || raw.length === 0)
    return { ok: false, reason: 'url must be a non-empty string' };
  if (raw.length > MAX_UPGRADE_URL_LENGTH) {
    return { ok: false, reason: `url is longer than ${MAX_UPGRADE_URL_LENGTH} characters` };
  }
  if (FORBIDDEN_CHARS_RE.test(raw)) {
    return { ok: false, reason: 'url contains whitespace, control or invisible characters' };
  }
  if (raw.includes('\\')) return { ok: false, reason: 'url contains a backslash' };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(raw)?.[1]?.toLowerCase();
  if (scheme !== 'https' && scheme !== 'http') {
    return {
      ok: false,
      reason: `url scheme must be https (or http for allowed hosts), not ${scheme ?? 'missing'}`,
    };
  }
  if (!/^[A-Za-z]+:\/\/[^/]/.test(raw))
    return { ok: false, reason: 'url must be absolute: scheme://host/path' };
  const authority = /^[A-Za-z]+:\/\/([^/?#]*)/.exec(raw)![1];
  if (authority.includes('@'))
    return { ok: false, reason: 'url must not contain user info (user@host)' };
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, reason: 'url is not a valid URL' };
  }
  if (u.username || u.password)
    return { ok: false, reason: 'url must not contain user info (user@host)' };
  if (!u.hostname) return { ok: false, reason: 'url has no host' };
  const host = u.hostname.toLowerCase();
  if (u.protocol === 'http:') {
    const allowed = httpAllowHosts.some((h) => h === host || h === u.host.toLowerCase());
    if (!allowed) {
      return {
        ok: false,
        reason: `plain http is allowed only for hosts in UPGRADE_HTTP_ALLOW_HOSTS; ${host} is not (use https)`,
      };
    }
  }
  if (u.href.length > MAX_UPGRADE_URL_LENGTH) {
    return {
      ok: false,
      reason: `url is longer than ${MAX_UPGRADE_URL_LENGTH} characters once normalised`,
    };
  }
  return { ok: true, url: u.href, host };
}
