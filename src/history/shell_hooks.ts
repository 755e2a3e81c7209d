/**
 * The shell hooks `hx init zsh|bash|fish` prints. Each records every command with its exit
 * status, working directory, start and end time, session id and sequence number by running
 * `hx record` detached: the prompt never waits for it, and its output and failures never
 * reach the shell (`hx doctor` shows failures). The command goes to `hx record` on stdin, never
 * on its argv (where `ps` would show it, and where 128 KiB is the limit). Commands typed with a leading space are not
 * recorded. A shell started from another gets a session of its own.
 *
 * @module
 */

import type { Shell } from "./parsed_command.ts";

/** The words that run hx: `deno run … cli.ts` under Deno, or a compiled binary. */
export function selfCommand(mainModule: string = Deno.mainModule): string[] {
  const exe = Deno.execPath();
  const isDeno = /(^|[\\/])deno(\.exe)?$/.test(exe);
  if (!isDeno) return [exe];
  const entry = mainModule.startsWith("file://") ? new URL(mainModule).pathname : mainModule;
  return [exe, "run", "--allow-all", "--quiet", entry];
}

function posixQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function fishQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(word)
    ? word
    : `'${word.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

const ZSH = (bin: string) =>
  `# hx shell history (eval "$(hx init zsh)" in ~/.zshrc)
zmodload zsh/datetime 2>/dev/null
if [[ -z "\${HX_SESSION:-}" || "\${HX_SESSION_PID:-}" != "$$" ]]; then
  export HX_SESSION="zsh-\${EPOCHSECONDS}-$$-$RANDOM$RANDOM"
  export HX_SESSION_PID=$$
fi
typeset -g _hx_seq=0 _hx_start= _hx_cmd= _hx_cwd=
typeset -ga _hx_bin
if [[ -n "\${HX_BIN:-}" ]]; then _hx_bin=(\${=HX_BIN}); else _hx_bin=(${bin}); fi
_hx_preexec() {
  [[ "$1" == " "* ]] && return
  _hx_cmd=$1
  _hx_cwd=$PWD
  _hx_start=$EPOCHREALTIME
}
_hx_precmd() {
  local rc=$?
  [[ -z "$_hx_start" ]] && return
  local end=$EPOCHREALTIME
  (( _hx_seq++ ))
  print -rn -- "$_hx_cmd" | "\${_hx_bin[@]}" record --session "$HX_SESSION" --seq $_hx_seq \\
    --start $_hx_start --end $end --exit $rc --cwd "$_hx_cwd" --shell zsh >/dev/null 2>&1 &!
  _hx_start=
}
autoload -Uz add-zsh-hook
add-zsh-hook preexec _hx_preexec
add-zsh-hook precmd _hx_precmd
`;

const BASH = (bin: string) =>
  `# hx shell history (eval "$(hx init bash)" in ~/.bashrc)
if [[ -z "\${HX_SESSION:-}" || "\${HX_SESSION_PID:-}" != "$$" ]]; then
  export HX_SESSION="bash-\${EPOCHSECONDS:-$(date +%s)}-$$-$RANDOM$RANDOM"
  export HX_SESSION_PID=$$
fi
# _hx_hist is unknown until the first prompt: bash loads the history file after this file.
_hx_seq=0 _hx_start= _hx_cwd= _hx_hist=unknown _hx_in_prompt=
_hx_entry='^[[:space:]]*([0-9]+)[* ] (.*)$' # how bash prints a history entry: "%5d%c %s"
if [[ -n "\${HX_BIN:-}" ]]; then read -r -a _hx_bin <<< "$HX_BIN"; else _hx_bin=(${bin}); fi
_hx_preexec() {
  [[ -n "$_hx_in_prompt" || -n "$_hx_start" || "$BASH_COMMAND" == _hx_precmd* ]] && return
  _hx_start=$EPOCHREALTIME
  _hx_cwd=$PWD
}
_hx_precmd() {
  local rc=$? end=$EPOCHREALTIME line num= cmd=
  _hx_in_prompt=1
  line=$(HISTTIMEFORMAT='' builtin history 1)
  if [[ $line =~ $_hx_entry ]]; then
    num=\${BASH_REMATCH[1]} cmd=\${BASH_REMATCH[2]}
  fi
  if [[ "$_hx_hist" == unknown ]]; then
    _hx_hist=$num # the first prompt: learn where history stands, record nothing
  elif [[ -n "$_hx_start" ]]; then
    # A new history entry means a command ran (an empty line or an ignored one adds none).
    if [[ -n "$num" && "$num" != "$_hx_hist" && "$cmd" != " "* ]]; then
      _hx_hist=$num
      (( _hx_seq++ ))
      (printf '%s' "$cmd" | "\${_hx_bin[@]}" record --session "$HX_SESSION" --seq $_hx_seq \\
        --start $_hx_start --end $end --exit $rc --cwd "$_hx_cwd" --shell bash >/dev/null 2>&1 &)
    fi
  fi
  _hx_start=
  _hx_in_prompt=
}
trap '_hx_preexec' DEBUG
PROMPT_COMMAND="_hx_precmd\${PROMPT_COMMAND:+; $PROMPT_COMMAND}"
`;

const FISH = (bin: string) =>
  `# hx shell history (hx init fish | source, in ~/.config/fish/config.fish)
if not set -q HX_SESSION; or test "$HX_SESSION_PID" != "$fish_pid"
  set -gx HX_SESSION "fish-"(date +%s)"-$fish_pid-"(random)(random)
  set -gx HX_SESSION_PID $fish_pid
end
set -g _hx_seq 0
if set -q HX_BIN
  set -g _hx_bin (string split ' ' -- $HX_BIN)
else
  set -g _hx_bin ${bin}
end
function _hx_preexec --on-event fish_preexec
  set -g _hx_cwd $PWD
end
function _hx_postexec --on-event fish_postexec
  set -l rc $status
  string match -q -- ' *' $argv[1]; and return
  test -z "$argv[1]"; and return
  set -g _hx_seq (math $_hx_seq + 1)
  printf '%s' $argv[1] | $_hx_bin record --session $HX_SESSION --seq $_hx_seq \\
    --duration $CMD_DURATION --exit $rc --cwd $_hx_cwd --shell fish >/dev/null 2>&1 &
  disown 2>/dev/null
end
`;

/**
 * The hook for a shell.
 *
 * @param shell `zsh`, `bash` or `fish`.
 * @param bin The words that run hx (default {@linkcode selfCommand}); `HX_BIN` in the
 *   environment overrides them when the hook is loaded.
 * @returns Shell code to `eval` (or `source` in fish).
 */
export function hookScript(shell: Shell, bin: string[] = selfCommand()): string {
  if (shell === "fish") return FISH(bin.map(fishQuote).join(" "));
  const words = bin.map(posixQuote).join(" ");
  return shell === "zsh" ? ZSH(words) : BASH(words);
}
