/**
 * Start checks for `runbook.steps` that need the machine the bot runs on: every command (and
 * check command) must be found, every environment variable a step names must be set. Said at
 * start, not found in the middle of a failover.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { DrConfig } from './schema.js';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where `program` would be run from, as execvp finds it; undefined when nowhere. */
function findProgram(program: string, env: NodeJS.ProcessEnv): string | undefined {
  if (program.includes('/')) {
    const path = isAbsolute(program) ? program : resolve(program);
    return executable(path) ? path : undefined;
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const path = join(dir, program);
    if (executable(path)) return path;
  }
  return undefined;
}

function programProblem(key: string, program: string, env: NodeJS.ProcessEnv): string | undefined {
  if (findProgram(program, env) !== undefined) return undefined;
  return program.includes('/')
    ? `${key}: ${program} does not exist or is not executable; fix the path (relative paths start from ${process.cwd()}) or chmod +x it`
    : `${key}: ${program} is not found on PATH (${env.PATH ?? 'unset'}); install it or give its full path`;
}

function unset(env: NodeJS.ProcessEnv, name: string): boolean {
  return (env[name] ?? '').trim() === '';
}

/** Problems with the environment the custom steps need, each naming the key and the fix. */
export function runbookStepProblems(config: DrConfig, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  config.runbook.steps.forEach((s, i) => {
    const at = `runbook.steps[${i}]`;
    const programs: [string, string][] = [];
    if (s.command) {
      programs.push([`${at}.command.argv[0]`, s.command.argv[0]]);
      if (s.command.check) programs.push([`${at}.command.check.argv[0]`, s.command.check.argv[0]]);
      for (const name of s.command.env)
        if (unset(env, name))
          problems.push(
            `${at}.command.env: ${name} is not set; export it for the bot or remove it from the list`,
          );
    }
    for (const [key, program] of programs) {
      const problem = programProblem(key, program, env);
      if (problem) problems.push(problem);
    }
    const headerSets = s.http
      ? ([
          ['http', s.http.headers],
          ['http.check', s.http.check?.headers ?? {}],
        ] as const)
      : [];
    for (const [where, headers] of headerSets)
      for (const [header, name] of Object.entries(headers))
        if (unset(env, name))
          problems.push(
            `${at}.${where}.headers.${header}: ${name} is not set; export the header's value in it`,
          );
  });
  return problems;
}
