/**
 * Runs an operator-configured shell command (a fence or a resync script) with a timeout. The
 * command gets its inputs as environment variables, never interpolated into the command line, so
 * a connection string cannot inject shell syntax.
 */
import { ProviderError } from '../errors.js';
import { commandEnv } from './command-env.js';
import { killCommandGroup, spawnCommandGroup } from './command-group.js';

interface CommandResult {
  exitCode: number;
  durationMs: number;
  /** The last lines of stdout+stderr, for evidence and error messages. */
  tail: string;
}

export function runShellCommand(
  provider: string,
  what: string,
  command: string,
  opts: { env: Record<string, string>; timeoutSeconds: number },
): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawnCommandGroup(command, commandEnv(opts.env));
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // The whole group: killing only the shell would leave its pg_rewind or pg_basebackup running.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killCommandGroup(child.pid, 'SIGKILL');
    }, opts.timeoutSeconds * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(
        new ProviderError(provider, `${what} command could not be started: ${err.message}`, {
          cause: err,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = output.trim().split('\n').slice(-10).join('\n');
      const durationMs = Date.now() - started;
      if (code === 0) {
        resolve({ exitCode: 0, durationMs, tail });
        return;
      }
      const how = timedOut
        ? `was killed after the ${opts.timeoutSeconds} s timeout`
        : `exited with ${code ?? signal}`;
      reject(
        new ProviderError(provider, `${what} command ${how}${tail ? `: ${tail}` : ''}`, {
          code: timedOut ? 'timeout' : 'provider',
        }),
      );
    });
  });
}
