export { parseConsoleLine } from './commands.js';
export { createConsoleSession } from './session.js';
export type { ConsoleSession } from './session.js';
