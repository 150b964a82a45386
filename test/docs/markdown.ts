/**
 * Just enough Markdown reading for the docs tests: the lines outside code fences, the headings
 * with their GitHub anchors, the links, and the blocks a reader reads as one paragraph.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { headingAnchor } from '../../scripts/docs/generated.js';

export const ROOT = new URL('../..', import.meta.url).pathname;

/** README.md and every page under docs/, as paths relative to the repository root. */
export function docPages(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs.sort()];
}

export function readPage(page: string): string {
  return readFileSync(join(ROOT, page), 'utf8');
}

/** The page's lines with every fenced code block (``` … ```) blanked out, numbering kept. */
function proseLines(text: string): string[] {
  let inFence = false;
  return text.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      inFence = !inFence;
      return '';
    }
    return inFence ? '' : line;
  });
}

/** `##` headings and deeper; `level` 1 is the page title. */
export function headings(text: string): { level: number; text: string }[] {
  return proseLines(text).flatMap((line) => {
    const m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    return m ? [{ level: m[1].length, text: m[2] }] : [];
  });
}

/** Every anchor a link may name on the page. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  return new Set(headings(text).map((h) => headingAnchor(h.text, seen)));
}

/** Inline links and images, `[text](target)`, outside code blocks and code spans. */
export function links(text: string): { line: number; target: string }[] {
  return proseLines(text).flatMap((line, i) =>
    [...line.replace(/`[^`]*`/g, '').matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map(
      (m) => ({ line: i + 1, target: m[1] }),
    ),
  );
}

/**
 * The units a reader takes in one go: a paragraph (lines up to a blank line), a list item with its
 * continuation lines, a table row. Headings, code blocks and HTML comments are not prose.
 */
export function proseBlocks(text: string): { line: number; text: string }[] {
  const blocks: { line: number; text: string }[] = [];
  let current: { line: number; text: string } | undefined;
  const close = () => {
    if (current) blocks.push(current);
    current = undefined;
  };
  proseLines(text).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || /^#{1,6}\s/.test(trimmed) || trimmed.startsWith('<!--')) return close();
    if (trimmed.startsWith('|')) {
      close();
      blocks.push({ line: i + 1, text: trimmed });
      return;
    }
    if (/^([-*+]|\d+\.)\s/.test(trimmed)) close();
    if (current) current.text += ` ${trimmed}`;
    else current = { line: i + 1, text: trimmed };
  });
  close();
  return blocks;
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
}
