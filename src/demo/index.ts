export { runDemo, DEMO_APPROVER, DEMO_REQUESTER } from './run.js';
export type { DemoOptions } from './run.js';
