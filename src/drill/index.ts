export { createDrillReporter } from './reporter.js';
export type {
  DrillReporter,
  DrillReporterDeps,
  ReportAdapter,
  ReportDelivery,
  ReportListener,
} from './reporter.js';
export { openDrillReporter } from './open.js';
export { drillMeasuresFromConfig, kubernetesMeasurer, objectStorageMeasurer } from './measures.js';
export type { DrillMeasurer, DrillMeasures, DrillMoment } from './measures.js';
