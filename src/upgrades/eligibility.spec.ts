import { describeSkip, planTargets, skipReason } from './eligibility';

const campaign = { version: '1.5.0', model: null, allowDowngrade: false };

describe('skipReason', () => {
  it('lets an upgrade through', () => {
    expect(skipReason({ fw: '1.4.2', model: 'RJ-C8' }, campaign)).toBeUndefined();
    expect(skipReason({ fw: '1.5.0-rc1', model: null }, campaign)).toBeUndefined();
    expect(skipReason({ fw: 'v1.4', model: null }, campaign)).toBeUndefined();
  });

  it('refuses a downgrade and a reinstall unless allowDowngrade', () => {
    expect(skipReason({ fw: '1.10.0', model: null }, campaign)).toBe('downgrade');
    expect(skipReason({ fw: '1.5', model: null }, campaign)).toBe('already_current');
    const forced = { ...campaign, allowDowngrade: true };
    expect(skipReason({ fw: '1.10.0', model: null }, forced)).toBeUndefined();
    expect(skipReason({ fw: '1.5.0', model: null }, forced)).toBeUndefined();
  });

  it('defers the decision when the running version is unknown', () => {
    expect(skipReason({ fw: null, model: null }, campaign)).toBeUndefined();
  });

  it('refuses an image labelled for another model, even with allowDowngrade', () => {
    const c = { ...campaign, model: 'RJ-C8', allowDowngrade: true };
    expect(skipReason({ fw: '1.0', model: 'rj-c8' }, c)).toBeUndefined();
    expect(skipReason({ fw: '1.0', model: 'RJ-C16' }, c)).toBe('model_mismatch');
    expect(skipReason({ fw: '1.0', model: null }, c)).toBeUndefined();
  });

  it('explains each reason', () => {
    expect(describeSkip('downgrade', { fw: '2.0', model: null }, campaign)).toMatch(
      /runs 2.0.*1.5.0.*allowDowngrade/,
    );
    expect(describeSkip('busy', { fw: null, model: null }, campaign)).toMatch(/another/);
  });
});

describe('planTargets', () => {
  const dev = (sn: string, fw: string | null, model: string | null = null) => ({ sn, fw, model });

  it('keeps the order, and gives each skipped device its reason and explanation', () => {
    const plan = planTargets(
      [dev('a', '1.4.0'), dev('b', '1.5.0'), dev('c', null), dev('d', '1.0.0')],
      new Set(['d']),
      campaign,
    );
    expect(plan).toEqual([
      { sn: 'a', fw: '1.4.0', reason: undefined, detail: null },
      { sn: 'b', fw: '1.5.0', reason: 'already_current', detail: expect.stringMatching(/1.5.0/) },
      { sn: 'c', fw: null, reason: undefined, detail: null },
      { sn: 'd', fw: '1.0.0', reason: 'busy', detail: expect.stringMatching(/another/) },
    ]);
  });

  it('busy wins over every other reason, even with allowDowngrade', () => {
    const forced = { ...campaign, model: 'RJ-C8', allowDowngrade: true };
    const [p] = planTargets([dev('a', '9.0', 'RJ-C16')], new Set(['a']), forced);
    expect(p.reason).toBe('busy');
  });
});
