export { buildDrillReport, rpoTargetMinutes, summaryOf, targetText } from './build.js';
export {
  measureRows,
  renderDrillMarkdown,
  renderDrillSummary,
  renderMeasuresTable,
} from './render.js';
export { createReportStore, drillLastKey } from './store.js';
export type { ReportStore } from './store.js';
export type {
  DrillMeasure,
  DrillReport,
  DrillSummary,
  DrillTargets,
  ReportStep,
  RpoRow,
  RtoRow,
} from './types.js';
