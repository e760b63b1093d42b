// Rules shared by firmware uploads and upgrade campaigns. A version label ends
// up in the `upgrade` command (protocol: 1-32 chars) and is compared with what
// devices report, so only plain version-like text is accepted.

export const SHA256_HEX_RE = /^[0-9a-f]{64}$/;
export const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,31}$/;
export const MODEL_RE = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;

export function isVersionLabel(v: unknown): v is string {
  return typeof v === 'string' && VERSION_RE.test(v);
}

export const VERSION_RULE =
  'version must be 1-32 chars of letters, digits and . _ + -, starting with a letter or digit';
export const MODEL_RULE = 'model must be 1-64 printable ASCII chars without surrounding spaces';

/** Printable ASCII, 1-64 chars, no surrounding spaces: what config_request may report as `model`. */
export function isModelLabel(v: unknown): v is string {
  return typeof v === 'string' && MODEL_RE.test(v);
}

/** Lowercase 64-hex digest, or undefined when the input is not one (any case accepted). */
export function normaliseSha256(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length !== 64) return undefined;
  const lower = v.toLowerCase();
  return SHA256_HEX_RE.test(lower) ? lower : undefined;
}

/** Path segment of the device download route: only the canonical lowercase form. */
export function isCanonicalSha256(v: unknown): v is string {
  return typeof v === 'string' && SHA256_HEX_RE.test(v);
}

export function firmwareDownloadPath(sha256: string): string {
  return `/firmware/${sha256}`;
}

/** The URL devices fetch; undefined until PUBLIC_BASE_URL is configured. */
export function firmwareDownloadUrl(
  publicBaseUrl: string | undefined,
  sha256: string,
): string | undefined {
  if (!publicBaseUrl) return undefined;
  return `${publicBaseUrl.replace(/\/+$/, '')}${firmwareDownloadPath(sha256)}`;
}
