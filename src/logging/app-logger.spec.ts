import { AppLogger, logLevelsUpTo } from './app-logger';

describe('AppLogger', () => {
  const capture = () => {
    const lines: string[] = [];
    const spy = jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      });
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    return {
      lines,
      restore: () => {
        spy.mockRestore();
        out.mockRestore();
      },
    };
  };

  it('hides Nest start-up chatter below debug, shows it at debug', () => {
    const c = capture();
    try {
      new AppLogger('log').log('Mapped {/x, GET} route', 'RouterExplorer');
      new AppLogger('log').log('kept', 'Main');
      new AppLogger('debug').log('Mapped {/y, GET} route', 'RouterExplorer');
    } finally {
      c.restore();
    }
    const text = c.lines.join('');
    expect(text).not.toContain('/x');
    expect(text).toContain('kept');
    expect(text).toContain('/y');
  });

  it('prints a repeated error once a minute, digits aside, then says how many it held back', () => {
    const log = new AppLogger('log');
    const c = capture();
    const now = jest.spyOn(Date, 'now');
    try {
      now.mockReturnValue(0);
      log.error('flush of 12 lines failed: connection refused', 'LatestStore');
      now.mockReturnValue(1000);
      log.error('flush of 13 lines failed: connection refused', 'LatestStore');
      log.error('flush of 14 lines failed: connection refused', 'LatestStore');
      log.error('something else', 'LatestStore');
      now.mockReturnValue(61_000);
      log.error('flush of 15 lines failed: connection refused', 'LatestStore');
    } finally {
      now.mockRestore();
      c.restore();
    }
    const text = c.lines.join('');
    expect(text.match(/flush of/g)).toHaveLength(2);
    expect(text).toContain(
      'flush of 15 lines failed: connection refused (and 2 like it in the last minute)',
    );
    expect(text).toContain('something else');
  });

  it('levels up to the one asked for', () => {
    expect(logLevelsUpTo('warn')).toEqual(['fatal', 'error', 'warn']);
  });
});
