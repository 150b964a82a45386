/**
 * The lab's cloud simulators, the one way in from outside this folder: each simulator on its own,
 * the whole set in-process (startSimulators) or as a detached process (spawnSimulators), and the
 * set as a part of the lab (simulatorsPart, with its control API client).
 */
export { azureCachePart } from './azure-cache-part.js';
export { azureFlexiblePart } from './azure-flexible-part.js';
export { elasticachePart } from './elasticache-part.js';
export { startAwsHealthSimulator, type AwsHealthSim } from './aws-health.js';
export { startDynamoDbSimulator } from './dynamodb.js';
export {
  startAzureResourceHealthSimulator,
  type AzureResourceHealthSim,
} from './azure-resource-health.js';
export type { CloudState, CloudWorkloadState } from './control.js';
export { startEntraIdSimulator, type EntraIdSim } from './entra-id.js';
export { startHealthServer, type HealthServer } from './health.js';
export { json, startHttpSim, type HttpSim } from './http-sim.js';
export { kubeconfigFor, startKubernetesSimulator, type KubernetesSim } from './kubernetes.js';
export { cloudState, labCloud, setRegionHealth, simulatorsPart, type LabCloud } from './part.js';
export { rdsPart } from './rds-part.js';
export { cnpgPart } from './cnpg-part.js';
export { auroraPart } from './aurora-part.js';
export { startRoute53Simulator, type Route53Sim } from './route53.js';
export { startRoute53ArcSimulator, type ArcSim } from './route53-arc.js';
export { startS3Simulator, type S3Sim } from './s3.js';
export { spawnSimulators, type SpawnedSimulators } from './spawn.js';
export { startSimulators } from './start.js';
export { startTrafficManagerSimulator, type TrafficManagerSim } from './traffic-manager.js';
export type { Simulators } from './types.js';
