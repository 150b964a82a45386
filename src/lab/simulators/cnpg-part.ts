/**
 * `dr lab up --postgres cloudnative-pg`: CloudNativePG runs inside the Kubernetes simulators (the
 * simulators part installs it, see cnpg-controller.ts), so this part starts nothing; it points the
 * bot config's database at the two Clusters, reached through components.kubernetes' contexts.
 */
import type { LabPart } from '../types.js';
import { LAB_CNPG } from './cnpg-controller.js';

export function cnpgPart(): LabPart {
  return {
    name: 'cloudnative-pg',
    start: () => Promise.resolve({}),
    configure(config) {
      const postgres = config.components?.postgres;
      if (!postgres) return;
      postgres.driver = 'cloudnative-pg';
      // The operator fences (demotion) and makes the old primary follow: no fence, no host command.
      delete postgres.resync;
      delete postgres.fence;
      postgres.cloudnativePg = {
        primary: { namespace: LAB_CNPG.namespace, name: LAB_CNPG.names.primary },
        secondary: { namespace: LAB_CNPG.namespace, name: LAB_CNPG.names.secondary },
        operationTimeoutSeconds: 60,
      };
    },
  };
}
