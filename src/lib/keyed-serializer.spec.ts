import { KeyedSerializer } from './keyed-serializer';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedSerializer', () => {
  it('runs tasks of one key in order and other keys in parallel, then forgets idle keys', async () => {
    const s = new KeyedSerializer();
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`${name}>`);
      await tick(ms);
      log.push(`<${name}`);
      return name;
    };
    const a1 = s.run('a', task('a1', 30));
    const a2 = s.run('a', task('a2', 1));
    const b1 = s.run('b', task('b1', 5));
    expect(await Promise.all([a1, a2, b1])).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('<a1')).toBeLessThan(log.indexOf('a2>'));
    expect(log.indexOf('b1>')).toBeLessThan(log.indexOf('<a1'));
    await tick(0);
    expect(s.size).toBe(0);
  });

  it('keeps going after a failed task', async () => {
    const s = new KeyedSerializer();
    const failed = s.run('a', () => Promise.reject(new Error('boom')));
    const next = s.run('a', () => Promise.resolve(7));
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe(7);
  });
});
