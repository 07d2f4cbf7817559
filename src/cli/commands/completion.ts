/** `jobctl completion bash|zsh`: a shell completion script, generated from the command table. */
import { JOB_EVENT_NAMES, JOB_STATUSES } from '../../../machines/vocabulary.js';
import { GLOBAL_OPTIONS } from '../args.js';
import type { CliCommand } from '../command.js';
import { CliError, ExitCode } from '../errors.js';

/** Commands whose first argument is a job id. */
const TAKES_ID = ['pause', 'resume', 'cancel', 'complete', 'finalize', 'dismiss', 'set-speed', 'wait', 'logs', 'watch'];

function flags(spec: Record<string, { type: string; short?: string }> = {}): string[] {
  return Object.entries(spec).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
}

export function bashScript(commands: readonly CliCommand[]): string {
  const names = commands.map((c) => c.name).join(' ');
  const globalFlags = flags(GLOBAL_OPTIONS).join(' ');
  const valued = Object.entries(GLOBAL_OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .flatMap(([name, o]) => [`--${name}`, ...('short' in o ? [`-${o.short}`] : [])])
    .join('|');
  const perCommand = commands.map((c) => `    ${c.name}) opts="${flags(c.options).join(' ')}" ;;`).join('\n');
  return `# bash completion for jobctl. Load it with:  source <(jobctl completion bash)
# or install it:  jobctl completion bash > /etc/bash_completion.d/jobctl
_jobctl() {
  local cur prev cmd="" i opts="" conn=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --server|-s|--user|-u|--prefix|--creds) conn+=("\${COMP_WORDS[i]}" "\${COMP_WORDS[i+1]}"); ((i++)) ;;
      ${valued}) ((i++)) ;;
      -*) ;;
      *) [[ -z "$cmd" ]] && cmd="\${COMP_WORDS[i]}" ;;
    esac
  done
  case "$prev" in
    --creds) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --status) COMPREPLY=($(compgen -W "${JOB_STATUSES.join(' ')}" -- "$cur")); return ;;
    --event) COMPREPLY=($(compgen -W "${JOB_EVENT_NAMES.join(' ')}" -- "$cur")); return ;;
    --on-error) COMPREPLY=($(compgen -W "report stop ignore" -- "$cur")); return ;;
    ${valued}|--id|--speed|--description|--owner|--type) return ;;
  esac
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "${names} help ${globalFlags} --version" -- "$cur"))
    return
  fi
  case "$cmd" in
${perCommand}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts ${globalFlags}" -- "$cur"))
    return
  fi
  case "$cmd" in
    ${TAKES_ID.join('|')}) COMPREPLY=($(compgen -W "$(jobctl "\${conn[@]}" query -q 2>/dev/null)" -- "$cur")) ;;
    transaction) COMPREPLY=($(compgen -f -- "$cur")) ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
    help) COMPREPLY=($(compgen -W "${names}" -- "$cur")) ;;
  esac
}
complete -F _jobctl jobctl
`;
}

export function completion(commands: () => readonly CliCommand[]): CliCommand {
  return {
    name: 'completion',
    summary: 'print a shell completion script (bash or zsh)',
    usage: 'jobctl completion bash|zsh',
    positionals: [1, 1],
    details: 'Completes commands, options, statuses, event names, and job ids (from `jobctl query -q`).',
    examples: ['source <(jobctl completion bash)      # in ~/.bashrc', 'source <(jobctl completion zsh)       # in ~/.zshrc'],
    async run(ctx) {
      const shell = ctx.args[0];
      const script = bashScript(commands());
      if (shell === 'bash') ctx.io.out.write(script);
      else if (shell === 'zsh') ctx.io.out.write(`#compdef jobctl\nautoload -U +X bashcompinit && bashcompinit\n${script}`);
      else throw new CliError(`completion for '${String(shell)}' is not available: bash or zsh`, ExitCode.usage);
      return ExitCode.ok;
    },
  };
}
