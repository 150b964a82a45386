/**
 * deploy/kubernetes is what operators apply: every manifest must be valid against the Kubernetes
 * API schema, the kustomization must list exactly the files there, and the Deployment must run the
 * bot the way docs/deploy.md says (non-root, probes on the paths the bot serves, the config
 * mounted where the image looks for it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { validateObject } from '../support/k8s-schema.js';

const DIR = new URL('../../deploy/kubernetes/', import.meta.url).pathname;
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const objects = files.flatMap((f) =>
  parseAllDocuments(readFileSync(`${DIR}${f}`, 'utf8')).map((d) => ({ file: f, obj: d.toJS() })),
);
const byKind = (kind: string) => objects.find((o) => o.obj.kind === kind)!.obj;

describe('deploy/kubernetes', () => {
  it.each(files)('%s is valid against the Kubernetes API schema', (file) => {
    for (const { obj } of objects.filter((o) => o.file === file))
      expect(validateObject(obj)).toEqual([]);
  });

  it('the validator refuses an unknown field, a wrong type and a missing required field', () => {
    const deployment = structuredClone(byKind('Deployment'));
    deployment.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    deployment.spec.replicas = 'two';
    delete deployment.spec.selector;
    expect(validateObject(deployment)).toEqual([
      'Deployment.spec.replicas: expected a number, got string',
      'Deployment.spec.template.spec.containers[0].imagePullPolicyy: unknown field of V1Container',
      'Deployment.spec.selector: required by V1DeploymentSpec',
    ]);
  });

  it('the kustomization lists every manifest, all in the dr-bot namespace', () => {
    const kustomization = parseAllDocuments(
      readFileSync(`${DIR}kustomization.yaml`, 'utf8'),
    )[0].toJS();
    expect([...kustomization.resources].sort()).toEqual([...files].sort());
    for (const { obj } of objects.filter((o) => o.obj.kind !== 'Namespace'))
      expect(obj.metadata.namespace).toBe(kustomization.namespace);
  });

  it('runs the bot non-root, read-only, with probes on the paths it serves', () => {
    const pod = byKind('Deployment').spec.template.spec;
    const [container] = pod.containers;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    const port = container.ports.find((p: { name: string }) => p.name === 'http');
    expect(container.env).toContainEqual({ name: 'PORT', value: String(port.containerPort) });
    expect(pod.serviceAccountName).toBe(byKind('ServiceAccount').metadata.name);
  });

  it('mounts a config the bot accepts where the image looks for it', () => {
    const container = byKind('Deployment').spec.template.spec.containers[0];
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'config');
    expect(container.env).toContainEqual({ name: 'DR_CONFIG', value: mount.mountPath });
    const text = byKind('ConfigMap').data[mount.subPath];
    expect(parseConfig(text, 'configmap.yaml').environment).toBe('prod');
  });

  it('keeps secrets as placeholders only', () => {
    for (const value of Object.values(byKind('Secret').stringData as Record<string, string>))
      expect(value).not.toMatch(/xoxb-\d|:[^@/]+@/);
  });
});
