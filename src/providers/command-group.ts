/**
 * Operator commands (fence, resync, integration tests) run in a process group of their own, so
 * a timeout, or the bot leaving, ends the whole tree (`sh -c` and the pg_rewind or test runner it
 * started), not only the shell. Leaving matters most: after a crash or a lost instance lease,
 * another instance re-checks the step and may run the command again, and two resyncs of one data
 * directory at once must never happen. A bot that exits (process.exit, a signal it handles, a
 * lost lease) kills the groups still running; a SIGKILLed bot cannot, which is why the container
 * (PID 1 gone takes every process with it) is the recommended way to run it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const running = new Set<number>();
let exitHook = false;

/** Signal a command's whole process group; false when it is already gone. */
export function killCommandGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL every command group this process started and that still runs; how many were killed. */
function killRunningCommands(): number {
  let killed = 0;
  for (const pid of running) if (killCommandGroup(pid, 'SIGKILL')) killed++;
  running.clear();
  return killed;
}

/**
 * `/bin/sh -c command` (or, given an argv, the program itself, without a shell) as the leader of
 * a new process group, tracked until it closes.
 */
export function spawnCommandGroup(
  command: string | readonly string[],
  env: NodeJS.ProcessEnv,
): ChildProcessWithoutNullStreams {
  if (!exitHook) {
    exitHook = true;
    // Synchronous, so it also runs inside process.exit().
    process.on('exit', () => void killRunningCommands());
  }
  const [file, args] =
    typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0], command.slice(1)];
  const child = spawn(file, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  }) as unknown as ChildProcessWithoutNullStreams;
  const pid = child.pid;
  if (pid !== undefined) {
    running.add(pid);
    child.once('close', () => running.delete(pid));
  }
  return child;
}
