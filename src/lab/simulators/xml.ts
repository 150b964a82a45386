/**
 * Just enough XML for the Route 53 simulator to read what the AWS SDK sends (element trees of
 * text, no mixed content) and to write what the SDK parses. Not a general XML library.
 */
interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_m, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X'))
      return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? '';
  });
}

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function parseXml(source: string): XmlNode {
  const root: XmlNode = { name: '#root', children: [], text: '' };
  const stack: XmlNode[] = [root];
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)([^>]*?)(\/?)>|<\?[^>]*\?>|<!--[\s\S]*?-->/g;
  let last = 0;
  for (let m = tag.exec(source); m; m = tag.exec(source)) {
    const top = stack[stack.length - 1];
    top.text += decode(source.slice(last, m.index));
    last = tag.lastIndex;
    if (m[2] === undefined) continue; // declaration or comment
    const name = m[2].includes(':') ? m[2].split(':')[1] : m[2];
    if (m[1] === '/') {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const node: XmlNode = { name, children: [], text: '' };
    top.children.push(node);
    if (m[4] !== '/') stack.push(node);
  }
  for (const n of walk(root)) n.text = n.text.trim();
  return root.children[0] ?? root;
}

function* walk(n: XmlNode): Generator<XmlNode> {
  yield n;
  for (const c of n.children) yield* walk(c);
}

export function child(n: XmlNode | undefined, name: string): XmlNode | undefined {
  return n?.children.find((c) => c.name === name);
}

export function children(n: XmlNode | undefined, name: string): XmlNode[] {
  return n?.children.filter((c) => c.name === name) ?? [];
}

export function text(n: XmlNode | undefined, name: string): string | undefined {
  return child(n, name)?.text;
}

/** Serialize a plain object: arrays become repeated `itemName` children, undefined is left out. */
type XmlValue = string | number | boolean | undefined | XmlObject | XmlList;
export interface XmlObject {
  [key: string]: XmlValue;
}
interface XmlList {
  itemName: string;
  items: XmlValue[];
}

function isList(v: XmlValue): v is XmlList {
  return typeof v === 'object' && v !== null && Array.isArray((v as XmlList).items);
}

function toXmlValue(v: XmlValue): string {
  if (v === undefined) return '';
  if (typeof v !== 'object') return escapeXml(String(v));
  if (isList(v)) return v.items.map((item) => element(v.itemName, item)).join('');
  return Object.entries(v)
    .map(([k, val]) => element(k, val))
    .join('');
}

function element(name: string, v: XmlValue): string {
  if (v === undefined) return '';
  return `<${name}>${toXmlValue(v)}</${name}>`;
}

export function xmlDocument(rootName: string, namespace: string, body: XmlObject): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${rootName} xmlns="${namespace}">${toXmlValue(body)}</${rootName}>`;
}
