/**
 * Generated blocks inside hand-written Markdown: a block sits between a start and an end marker
 * comment, so a generator rewrites its block and leaves the prose around it alone. Also GitHub's
 * heading anchors, which a generated table of contents and the link test both need.
 */

const start = (name: string): string => `<!-- generated:${name} start -->`;
const end = (name: string): string => `<!-- generated:${name} end -->`;

/** `doc` with the block `name` replaced by `body`; throws when the markers are missing. */
export function spliceGenerated(doc: string, name: string, body: string): string {
  const from = doc.indexOf(start(name));
  const to = doc.indexOf(end(name));
  if (from < 0 || to < from)
    throw new Error(`no ${start(name)} … ${end(name)} block: add the two marker lines first`);
  const note = `<!-- Do not edit: written by ${generatorOf(name)}. -->`;
  return `${doc.slice(0, from)}${start(name)}\n${note}\n\n${body.trimEnd()}\n\n${doc.slice(to)}`;
}

const GENERATORS: Record<string, string> = {
  'config-reference': 'npm run docs:config',
  flow: 'node --import tsx scripts/flow-diagram.ts',
};

/** The command that rewrites block `name`. */
function generatorOf(name: string): string {
  return GENERATORS[name] ?? 'a generator under scripts/';
}

/**
 * The anchor GitHub gives a heading: lower case, punctuation dropped (backticks, dots, colons…),
 * spaces to dashes. Repeats of one heading get -1, -2… (`seen` counts them).
 */
export function headingAnchor(heading: string, seen?: Map<string, number>): string {
  const base = heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
  if (!seen) return base;
  const n = seen.get(base) ?? 0;
  seen.set(base, n + 1);
  return n === 0 ? base : `${base}-${n}`;
}
