/** Azurite's blob service for tests of the Azure Blob code: the lab's own starter. */
export { startAzurite, type Azurite } from '../../src/lab/simulators/azurite.js';
