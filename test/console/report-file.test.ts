/** Drill reports from two labs in one reports directory: both kept, neither overwritten. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReportFile } from '../../src/console/report-file.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dr-reports-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a second lab whose drill got the same id writes beside the first report', () => {
  const id = 'DR-20261207-093015';
  const first = writeReportFile(dir, id, '# first lab');
  const second = writeReportFile(dir, id, '# second lab');
  expect(first).toBe(join(dir, `${id}.md`));
  expect(second).toBe(join(dir, `${id}-2.md`));
  expect(readFileSync(first, 'utf8')).toBe('# first lab');
  expect(readFileSync(second, 'utf8')).toBe('# second lab');
  // The same report printed again keeps its file; a third lab gets the next number.
  expect(writeReportFile(dir, id, '# second lab')).toBe(second);
  expect(writeReportFile(dir, id, '# third lab')).toBe(join(dir, `${id}-3.md`));
});

test('the file this process wrote for an operation is updated in place', () => {
  const id = 'DR-20261207-093016';
  const file = writeReportFile(dir, id, '# before');
  expect(writeReportFile(dir, id, '# after', file)).toBe(file);
  expect(readFileSync(file, 'utf8')).toBe('# after');
});
