export { renderEntry, renderStatus, renderRtoRpo } from './render.js';
