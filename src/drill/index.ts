export { createDrillReporter } from './reporter.js';
export type { DrillReporter, DrillReporterDeps, ReportListener } from './reporter.js';
export { openDrillReporter } from './open.js';
