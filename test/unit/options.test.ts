// Flags as operators type them for any controller: controller-runtime's names and forms, klog's -v.
import { Command } from 'commander';
import { addRunOptions, bindAddresses, logLevel, type RunOptions } from '../../src/cli/options.ts';

function parse(...args: string[]): RunOptions {
  const command = addRunOptions(new Command()).exitOverride();
  command.parse(args, { from: 'user' });
  return command.opts<RunOptions>();
}

describe('run flags', () => {
  it.each([
    [[], true],
    [['--leader-elect'], true],
    [['--leader-elect=true'], true],
    [['--leader-elect=false'], false],
    [['--leader-elect', 'false'], false],
    [['--no-leader-elect'], false],
  ])('%j: leader election %s', (args, expected) => {
    expect(parse(...args).leaderElect).toBe(expected);
  });

  it('refuses a leader-elect value that is not a boolean', () => {
    expect(() => parse('--leader-elect=maybe')).toThrow(/must be true or false/);
  });

  it('--metrics-bind-address and --health-probe-bind-address, with --http-address as the old name for both', () => {
    expect(bindAddresses(parse())).toEqual({ metrics: ':8080', probes: ':8080' });
    expect(bindAddresses(parse('--http-address=:9000'))).toEqual({ metrics: ':9000', probes: ':9000' });
    expect(bindAddresses(parse('--http-address=:9000', '--health-probe-bind-address=:8081')))
      .toEqual({ metrics: ':9000', probes: ':8081' });
    expect(bindAddresses(parse('--metrics-bind-address=127.0.0.1:8443', '--health-probe-bind-address=:8081')))
      .toEqual({ metrics: '127.0.0.1:8443', probes: ':8081' });
  });

  it('-v 4 or more means debug; below, --log-level decides', () => {
    expect(logLevel(parse('-v', '4'))).toBe('debug');
    expect(logLevel(parse('--v=2'))).toBe('info');
    expect(logLevel(parse('--log-level=warn'))).toBe('warn');
  });
});
