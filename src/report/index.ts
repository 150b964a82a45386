export { buildDrillReport, summaryOf } from './build.js';
export {
  drillHeadline,
  renderDrillMarkdown,
  renderDrillSummary,
  renderMeasuresTable,
} from './render.js';
export { createReportStore, drillLastKey } from './store.js';
export type { ReportStore } from './store.js';
export type {
  AfterDrillCheck,
  DrillMeasure,
  DrillReport,
  DrillSummary,
  DrillTargets,
} from './types.js';
