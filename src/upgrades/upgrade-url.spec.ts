import { checkUpgradeUrl, MAX_UPGRADE_URL_LENGTH } from './upgrade-url';

const allow = ['fw.lan', '10.0.0.5:8080'];
const ok = (u: string) => checkUpgradeUrl(u, allow);

describe('checkUpgradeUrl', () => {
  it('accepts https anywhere and returns the normalised URL and host', () => {
    expect(ok('https://fw.example.com/rj-c8/1.5.0.bin')).toEqual({
      ok: true,
      url: 'https://fw.example.com/rj-c8/1.5.0.bin',
      host: 'fw.example.com',
    });
    expect(ok('HTTPS://FW.Example.com:8443/a?b=1')).toMatchObject({
      ok: true,
      url: 'https://fw.example.com:8443/a?b=1',
    });
  });

  it('accepts plain http only for allowed hosts (hostname, or host:port for one port)', () => {
    expect(ok('http://fw.lan/img.bin').ok).toBe(true);
    expect(ok('http://FW.LAN:8000/img.bin').ok).toBe(true);
    expect(ok('http://10.0.0.5:8080/img.bin').ok).toBe(true);
    expect(ok('http://10.0.0.5:8081/img.bin').ok).toBe(false);
    expect(ok('http://fw.example.com/img.bin')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/UPGRADE_HTTP_ALLOW_HOSTS/),
    });
    expect(checkUpgradeUrl('http://fw.lan/x', []).ok).toBe(false);
  });

  it.each([
    ['file:///etc/passwd', /scheme/],
    ['data:application/octet-stream;base64,AAAA', /scheme/],
    ['javascript:alert(1)', /scheme/],
    ['ftp://fw.example.com/x.bin', /scheme/],
    ['//fw.example.com/x.bin', /scheme/],
    ['fw.example.com/x.bin', /scheme/],
    ['not a url', /whitespace/],
    ['https://good.example.com@evil.example.com/x.bin', /user info/],
    ['https://user:pw@fw.example.com/x.bin', /user info/],
    ['https://@fw.example.com/x.bin', /user info/],
    ['https:/fw.example.com/x.bin', /absolute/],
    ['https:///fw.example.com/x.bin', /absolute/],
    ['https://good.example.com\\@evil.example.com/', /backslash/],
    ['https://fw.example.com/a b.bin', /whitespace/],
    [' https://fw.example.com/x.bin', /whitespace/],
    ['https://fw.example.com/x.bin\n', /whitespace/],
    ['https://fw.example.com/x\u0000.bin', /control/],
    ['https://fw.example.com/x\u200b.bin', /invisible/],
    ['https://fw.example.com/\u202ex.bin', /invisible/],
    ['https://exa mple.com/', /whitespace/],
    ['https://[::1/x', /valid URL/],
    ['', /non-empty/],
  ])('refuses %j', (u, reason) => {
    const r = ok(u);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('refuses non-strings and over-long URLs', () => {
    expect(checkUpgradeUrl(42, allow).ok).toBe(false);
    expect(checkUpgradeUrl(undefined, allow).ok).toBe(false);
    const long = 'https://fw.example.com/' + 'a'.repeat(MAX_UPGRADE_URL_LENGTH);
    expect(ok(long)).toMatchObject({ ok: false, reason: expect.stringMatching(/longer/) });
  });
});
