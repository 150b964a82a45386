/**
 * The README is the front door and docs/ holds the rest: every relative link and anchor there
 * must lead somewhere, the README stays short, every docs page opens with its contents, and no
 * paragraph runs long.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { headingAnchor } from '../../scripts/docs/generated.js';
import {
  anchors,
  docPages,
  headings,
  links,
  proseBlocks,
  readPage,
  ROOT,
  wordCount,
} from './markdown.js';

const MAX_README_LINES = 200;
const MAX_PARAGRAPH_WORDS = 120;

/** Problems with one link of `page`, or null when it resolves (file, folder, anchor). */
function brokenLink(page: string, target: string): string | null {
  const [path, anchor] = target.split('#');
  const file = path === '' ? page : normalize(join(dirname(page), decodeURI(path)));
  if (file.startsWith('..')) return `${target} leaves the repository`;
  if (!existsSync(join(ROOT, file))) return `${target}: no such file ${file}`;
  if (anchor === undefined) return null;
  if (statSync(join(ROOT, file)).isDirectory() || !file.endsWith('.md'))
    return `${target}: an anchor into a file that is not Markdown`;
  return anchors(readPage(file)).has(anchor) ? null : `${target}: no heading #${anchor} in ${file}`;
}

describe.each(docPages())('%s', (page) => {
  const text = readPage(page);

  it('links only to files and headings that exist', () => {
    const problems = links(text)
      .filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l.target))
      .flatMap((l) => {
        const problem = brokenLink(page, l.target);
        return problem ? [`line ${l.line}: ${problem}`] : [];
      });
    expect(problems).toEqual([]);
  });

  it(`has no paragraph, list item or table row over ${MAX_PARAGRAPH_WORDS} words`, () => {
    const long = proseBlocks(text)
      .map((b) => ({ ...b, words: wordCount(b.text) }))
      .filter((b) => b.words > MAX_PARAGRAPH_WORDS)
      .map((b) => `line ${b.line}: ${b.words} words`);
    expect(long).toEqual([]);
  });
});

it(`keeps the README at most ${MAX_README_LINES} lines`, () => {
  const lines = readPage('README.md').trimEnd().split('\n').length;
  expect(lines).toBeLessThanOrEqual(MAX_README_LINES);
});

it('links every docs page from the README', () => {
  const targets = new Set(links(readPage('README.md')).map((l) => l.target.split('#')[0]));
  const missing = docPages().filter((p) => p !== 'README.md' && !targets.has(p));
  expect(missing).toEqual([]);
});

describe.each(docPages().filter((p) => p !== 'README.md'))('%s', (page) => {
  it('opens with a table of contents that lists every section', () => {
    const text = readPage(page);
    const all = headings(text);
    expect(all[0]?.level).toBe(1);
    expect(all[1]?.text).toBe('Contents');
    const contents = text.slice(
      text.indexOf('## Contents'),
      text.indexOf('\n## ', text.indexOf('## Contents') + 1),
    );
    const listed = new Set(links(contents).map((l) => l.target));
    const sections = all.filter((h) => h.level === 2 && h.text !== 'Contents');
    const seen = new Map<string, number>();
    const anchorOf = new Map(all.map((h) => [h, headingAnchor(h.text, seen)]));
    const unlisted = sections.filter((h) => !listed.has(`#${anchorOf.get(h)}`)).map((h) => h.text);
    expect(sections.length).toBeGreaterThan(0);
    expect(unlisted).toEqual([]);
  });
});
