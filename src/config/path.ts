/** Where the config lives: `--config FILE`, else DR_CONFIG, else ./dr.config.yaml. */
export const DEFAULT_CONFIG_PATH = './dr.config.yaml';

export function configPathFrom(opts: { flag?: string; env: NodeJS.ProcessEnv }): string {
  if (opts.flag !== undefined && opts.flag !== '') return opts.flag;
  const fromEnv = opts.env.DR_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return DEFAULT_CONFIG_PATH;
}
