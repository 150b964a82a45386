/**
 * Strict validation of a Kubernetes object against the API models @kubernetes/client-node carries
 * (generated from the Kubernetes OpenAPI spec): an unknown field, a value of the wrong type or a
 * missing required field is an error, as `kubectl apply --validate=strict` would report.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

interface Attribute {
  baseName: string;
  type: string;
}
type Model = { getAttributeTypeMap(): Attribute[] };

const require = createRequire(import.meta.url);
const MODELS = join(dirname(require.resolve('@kubernetes/client-node')), 'gen', 'models');

/** Required properties are the non-optional ones of the model's declaration file. */
function requiredOf(type: string): string[] {
  const dts = readFileSync(join(MODELS, `${type}.d.ts`), 'utf8');
  return [...dts.matchAll(/^\s+'(\w+)': /gm)].map((m) => m[1]);
}

function modelOf(type: string): Model | undefined {
  const model = (k8s as unknown as Record<string, unknown>)[type] as Model | undefined;
  return typeof model?.getAttributeTypeMap === 'function' ? model : undefined;
}

function check(value: unknown, type: string, path: string, errors: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return void errors.push(`${path}: expected a list`);
    value.forEach((item, i) => check(item, array[1], `${path}[${i}]`, errors));
  } else if (map) {
    if (typeof value !== 'object' || Array.isArray(value))
      return void errors.push(`${path}: expected a map`);
    for (const [k, v] of Object.entries(value)) check(v, map[1], `${path}.${k}`, errors);
  } else if (type === 'string' || type === 'Date') {
    if (typeof value !== 'string') errors.push(`${path}: expected a string, got ${typeof value}`);
  } else if (type === 'number') {
    if (typeof value !== 'number') errors.push(`${path}: expected a number, got ${typeof value}`);
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') errors.push(`${path}: expected a boolean, got ${typeof value}`);
  } else if (type === 'IntOrString') {
    if (typeof value !== 'string' && typeof value !== 'number')
      errors.push(`${path}: expected an integer or a string`);
  } else if (type !== 'any' && type !== 'object') {
    checkObject(value, type, path, errors);
  }
}

function checkObject(value: unknown, type: string, path: string, errors: string[]): void {
  const model = modelOf(type);
  if (!model) return void errors.push(`${path}: no model ${type} in @kubernetes/client-node`);
  if (typeof value !== 'object' || Array.isArray(value))
    return void errors.push(`${path}: expected an object (${type})`);
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  const record = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(record)) {
    const t = attributes.get(key);
    if (!t) errors.push(`${path}.${key}: unknown field of ${type}`);
    else check(v, t, `${path}.${key}`, errors);
  }
  for (const key of requiredOf(type))
    if (record[key] === undefined) errors.push(`${path}.${key}: required by ${type}`);
}

/** `apps/v1` + `Deployment` → V1Deployment; `policy/v1` + `PodDisruptionBudget` → V1PodDisruptionBudget. */
export function validateObject(doc: { apiVersion?: string; kind?: string }): string[] {
  const version = doc.apiVersion?.split('/').pop() ?? '';
  const type = `${version.charAt(0).toUpperCase()}${version.slice(1)}${doc.kind ?? ''}`;
  const errors: string[] = [];
  if (!modelOf(type)) return [`${doc.apiVersion} ${doc.kind}: not a Kubernetes API type`];
  checkObject(doc, type, doc.kind ?? type, errors);
  return errors;
}
