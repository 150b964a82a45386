export { renderEntry, renderStatus, renderRtoRpo } from './render.js';
export { consoleHelp, parseConsoleLine } from './commands.js';
export type { ButtonAction, ConsoleCommand, ConsoleLine } from './commands.js';
export { createConsoleSession } from './session.js';
export type { ConsoleSession, ConsoleSessionDeps } from './session.js';
