import {
  fromdevTopic,
  parseFromdevTopic,
  subscriptionTopic,
  todevTopic,
  validateTopicRoot,
} from './topics';

const ROOT = 'smart/devs';
const SN = '202005010001';

describe('validateTopicRoot', () => {
  it.each(['smart/devs', 'a', 'site-1/smart/devs', 'x y/z'])('accepts %s', (root) => {
    expect(validateTopicRoot(root)).toBe(root);
  });

  it.each([
    ['empty', '', /non-empty/],
    ['plus', 'smart/+', /\+ or #/],
    ['hash', 'smart/#', /\+ or #/],
    ['embedded plus', 'sm+art', /\+ or #/],
    ['leading slash', '/smart/devs', /start or end/],
    ['trailing slash', 'smart/devs/', /start or end/],
    ['empty level', 'smart//devs', /empty level/],
    ['NUL', 'smart\u0000devs', /NUL/],
    ['$-reserved', '$SYS/devs', /\$/],
    ['too long', 'a'.repeat(2000), /longer/],
  ])('rejects %s', (_label, root, msg) => {
    expect(() => validateTopicRoot(root)).toThrow(msg);
  });
});

describe('topic builders', () => {
  it('builds fromdev and todev topics', () => {
    expect(fromdevTopic(ROOT, SN)).toBe('smart/devs/202005010001/fromdev');
    expect(todevTopic(ROOT, SN)).toBe('smart/devs/202005010001/todev');
  });

  it('allows a malformed serial on fromdev (simulator) but not a structural one', () => {
    expect(fromdevTopic(ROOT, 'abc')).toBe('smart/devs/abc/fromdev');
    for (const bad of ['', 'a/b', '+', '#', 'a\u0000']) {
      expect(() => fromdevTopic(ROOT, bad)).toThrow();
    }
  });

  it('never builds a todev topic for a non-serial', () => {
    for (const bad of ['abc', '+', '#', '20200501000', '２０２００５０１０００１']) {
      expect(() => todevTopic(ROOT, bad)).toThrow();
    }
  });

  it('builds plain and shared subscriptions', () => {
    expect(subscriptionTopic(ROOT)).toBe('smart/devs/+/fromdev');
    expect(subscriptionTopic(ROOT, 'backend_1-a')).toBe('$share/backend_1-a/smart/devs/+/fromdev');
  });

  it.each(['', 'a/b', 'a+', '#', 'grüppe', 'a b'])('rejects share group %p', (g) => {
    expect(() => subscriptionTopic(ROOT, g)).toThrow(/group/);
  });

  it('validates the root when subscribing', () => {
    expect(() => subscriptionTopic('smart/#')).toThrow();
  });
});

describe('parseFromdevTopic', () => {
  it('extracts the serial', () => {
    expect(parseFromdevTopic(ROOT, `smart/devs/${SN}/fromdev`)).toEqual({ ok: true, sn: SN });
    expect(parseFromdevTopic('a', `a/${SN}/fromdev`)).toEqual({ ok: true, sn: SN });
  });

  it.each([
    ['wrong root', `other/devs/${SN}/fromdev`],
    ['root prefix only', `smart/devsX/${SN}/fromdev`],
    ['root as suffix of a longer root', `x/smart/devs/${SN}/fromdev`],
    ['todev', `smart/devs/${SN}/todev`],
    ['missing suffix', `smart/devs/${SN}`],
    ['extra level before', `smart/devs/x/${SN}/fromdev`],
    ['extra level after', `smart/devs/${SN}/fromdev/x`],
    ['trailing slash', `smart/devs/${SN}/fromdev/`],
    ['empty serial level', 'smart/devs//fromdev'],
    ['no serial level', 'smart/devs/fromdev'],
    ['double slash', `smart/devs//${SN}/fromdev`],
    ['plus', 'smart/devs/+/fromdev'],
    ['hash', 'smart/devs/#'],
    ['hash in level', `smart/devs/${SN}#/fromdev`],
    ['NUL', `smart/devs/${SN}\u0000/fromdev`],
    ['empty', ''],
    ['root only', 'smart/devs'],
  ])('bad_topic: %s', (_label, topic) => {
    expect(parseFromdevTopic(ROOT, topic)).toEqual({ ok: false, reason: 'bad_topic' });
  });

  it.each([
    ['11 digits', '20200501000'],
    ['13 digits', '2020050100011'],
    ['letters', 'device-01'],
    ['Devanagari digits', '२०२००५०१०००१'],
    ['fullwidth digits', '２０２００５０１０００１'],
  ])('bad_serial with recorded sn: %s', (_label, sn) => {
    expect(parseFromdevTopic(ROOT, `smart/devs/${sn}/fromdev`)).toEqual({
      ok: false,
      reason: 'bad_serial',
      sn,
    });
  });

  it('omits an sn that is too long or not printable', () => {
    expect(parseFromdevTopic(ROOT, `smart/devs/${'1'.repeat(33)}/fromdev`)).toEqual({
      ok: false,
      reason: 'bad_serial',
    });
    expect(parseFromdevTopic(ROOT, 'smart/devs/abc\u202edef/fromdev')).toEqual({
      ok: false,
      reason: 'bad_serial',
    });
    expect(parseFromdevTopic(ROOT, 'smart/devs/abc\ndef/fromdev')).toEqual({
      ok: false,
      reason: 'bad_serial',
    });
  });
});
