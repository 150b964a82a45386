export { createDrillReporter } from './reporter.js';
export type { DrillReporter, DrillReporterDeps, ReportListener } from './reporter.js';
