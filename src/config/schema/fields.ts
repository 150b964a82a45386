/**
 * Field shapes several sections of the config share: secrets are named by the environment
 * variable that holds them, never written in the file.
 */
import { z } from 'zod';

export const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)');
