/**
 * The commands people type, as the engine names them in its messages: by verb, never as one
 * adapter spells them (`/dr abort` in Slack, with whatever slash command is configured; `abort`
 * in `dr console`). commandRef marks a verb in a message; each adapter spells the marks its own
 * way with renderCommands before it shows the message.
 */
type CommandVerb =
  'failover' | 'failback' | 'drill' | 'status' | 'abort' | 'approve' | 'reject' | 'retry' | 'skip';

const REF = /\{\{command:([a-z]+)\}\}/g;

export function commandRef(verb: CommandVerb): string {
  return `{{command:${verb}}}`;
}

export function renderCommands(text: string, spell: (verb: CommandVerb) => string): string {
  return text.replace(REF, (_m, verb: string) => spell(verb as CommandVerb));
}

/** Where no adapter speaks (logs): the bare verb as code. */
export function plainCommands(text: string): string {
  return renderCommands(text, (verb) => `\`${verb}\``);
}
