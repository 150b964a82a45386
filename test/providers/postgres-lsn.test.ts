import { formatBytes } from '../../src/providers/bytes.js';
import { lsnDiff, lsnToNumber } from '../../src/providers/postgres/index.js';

test('LSNs compare across the 4 GB boundary between their two halves', () => {
  expect(lsnToNumber('0/0')).toBe(0);
  expect(lsnToNumber('16/B374D848')).toBe(0x16 * 2 ** 32 + 0xb374d848);
  expect(lsnDiff('1/0', '0/FFFFFFFF')).toBe(1);
  expect(lsnDiff('0/3000060', '0/3000148')).toBe(-(0x148 - 0x60));
  expect(() => lsnToNumber('not-an-lsn')).toThrow(/not an LSN/);
});

test('byte counts read the way the timeline shows them', () => {
  expect(formatBytes(0)).toBe('0 B');
  expect(formatBytes(12 * 1024 + 300)).toBe('12.3 kB');
  expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MB');
});
