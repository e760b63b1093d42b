import {
  firmwareDownloadUrl,
  isCanonicalSha256,
  isModelLabel,
  isVersionLabel,
  normaliseSha256,
} from './firmware-rules';

const HEX = 'ab'.repeat(32);

describe('firmware rules', () => {
  it('accepts version-like labels of 1-32 chars', () => {
    for (const v of ['1', '1.5.0', 'v2.0', '1.5.0-rc1', '1.5.0+build.7', 'a'.repeat(32)]) {
      expect(isVersionLabel(v)).toBe(true);
    }
    for (const v of [
      '',
      ' 1.5',
      '1.5 ',
      '-1',
      '.1',
      'a'.repeat(33),
      '1/2',
      '1.5\n',
      '1,5',
      15,
      null,
    ]) {
      expect(isVersionLabel(v)).toBe(false);
    }
  });

  it('accepts printable model labels without surrounding spaces', () => {
    expect(isModelLabel('RJ-C8')).toBe(true);
    expect(isModelLabel('RJ C8')).toBe(true);
    expect(isModelLabel(' RJ')).toBe(false);
    expect(isModelLabel('RJ\u0000')).toBe(false);
    expect(isModelLabel('x'.repeat(65))).toBe(false);
  });

  it('normalises sha256 to lowercase and refuses anything else', () => {
    expect(normaliseSha256(HEX.toUpperCase())).toBe(HEX);
    expect(normaliseSha256(HEX)).toBe(HEX);
    expect(normaliseSha256(HEX.slice(1))).toBeUndefined();
    expect(normaliseSha256(HEX.slice(1) + 'g')).toBeUndefined();
    expect(normaliseSha256(123)).toBeUndefined();
  });

  it('serves only the canonical lowercase digest', () => {
    expect(isCanonicalSha256(HEX)).toBe(true);
    expect(isCanonicalSha256(HEX.toUpperCase())).toBe(false);
    expect(isCanonicalSha256('../' + HEX.slice(3))).toBe(false);
  });

  it('builds the device URL from the public base URL', () => {
    expect(firmwareDownloadUrl(undefined, HEX)).toBeUndefined();
    expect(firmwareDownloadUrl('http://10.0.0.2:3000', HEX)).toBe(
      `http://10.0.0.2:3000/firmware/${HEX}`,
    );
    expect(firmwareDownloadUrl('https://fw.example.com/backend/', HEX)).toBe(
      `https://fw.example.com/backend/firmware/${HEX}`,
    );
  });
});
