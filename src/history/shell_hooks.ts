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

/**
 * The words that run hx: `deno run … cli.ts` under Deno, or a compiled binary. `--no-config`:
 * hx imports nothing by bare name and needs no `deno.json`; not reading the checkout's own
 * (its development imports, a lockfile of the test tools' npm tree) spares every `hx record`
 * ~2 MiB of its peak memory.
 */
export function selfCommand(mainModule: string = Deno.mainModule): string[] {
  const exe = Deno.execPath();
  const isDeno = /(^|[\\/])deno(\.exe)?$/.test(exe);
  if (!isDeno) return [exe];
  const entry = mainModule.startsWith("file://") ? new URL(mainModule).pathname : mainModule;
  return [exe, "run", "--allow-all", "--quiet", "--no-config", entry];
}

/**
 * The words the hook runs `hx record` with: under Deno, the one-file recorder beside these
 * sources (`src/recorder.bundle.js`, ~1.5 MiB less per command than loading `cli.ts` and the
 * thirty modules behind it); where there is none (a copy without it, sources not on a local
 * disk), and for a compiled hx, {@linkcode selfCommand}.
 *
 * @param mainModule The module hx runs from (default: this process's).
 * @returns Program and arguments, before `record`.
 */
export function recorderCommand(mainModule: string = Deno.mainModule): string[] {
  const words = selfCommand(mainModule);
  if (words.length === 1) return words;
  const bundle = new URL("../recorder.bundle.js", import.meta.url);
  if (bundle.protocol !== "file:") return words;
  const path = decodeURIComponent(bundle.pathname);
  try {
    if (!Deno.statSync(path).isFile) return words;
  } catch {
    return words;
  }
  return [...words.slice(0, -1), path];
}

function posixQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function fishQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(word)
    ? word
    : `'${word.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

const ZSH = (bin: string, rec: string) =>
  `# hx shell history (eval "$(hx init zsh)" in ~/.zshrc)
zmodload zsh/datetime 2>/dev/null
if [[ -z "\${HX_SESSION:-}" || "\${HX_SESSION_PID:-}" != "$$" ]]; then
  export HX_SESSION="zsh-\${EPOCHSECONDS}-$$-$RANDOM$RANDOM"
  export HX_SESSION_PID=$$
fi
typeset -g _hx_seq=0 _hx_start= _hx_cmd= _hx_cwd=
typeset -ga _hx_bin _hx_rec
if [[ -n "\${HX_BIN:-}" ]]; then
  _hx_bin=(\${=HX_BIN}) _hx_rec=(\${=HX_BIN})
else
  _hx_bin=(${bin}) _hx_rec=(${rec})
fi
export HX_HOOK_BIN="\${_hx_rec[*]}" # what records, for hx doctor to check
_hx_preexec() {
  # $1 is empty when zsh keeps no history at all; $3 is the full text either way.
  local cmd=\${1:-$3}
  [[ -z "$cmd" || "$cmd" == " "* ]] && return
  _hx_cmd=$cmd
  _hx_cwd=$PWD
  _hx_start=$EPOCHREALTIME
}
_hx_precmd() {
  local rc=$?
  [[ -z "$_hx_start" ]] && return $rc
  local end=$EPOCHREALTIME
  (( _hx_seq++ ))
  # nohup: a shell that exits right away must not take the recorder down with it.
  print -rn -- "$_hx_cmd" | nohup "\${_hx_rec[@]}" record --session "$HX_SESSION" \\
    --seq $_hx_seq --start $_hx_start --end $end --exit $rc --cwd "$_hx_cwd" --shell zsh \\
    >/dev/null 2>&1 &!
  _hx_start=
  return $rc
}
autoload -Uz add-zsh-hook
add-zsh-hook preexec _hx_preexec
add-zsh-hook precmd _hx_precmd
`;

// bash has no preexec hook that sees the command line, so the hook reads the line back from
// the history list. For that the line must get there whatever the user's settings: while a
// line is read, HISTCONTROL keeps only erasedups, HISTIGNORE is empty and HISTSIZE is at
// least 1. As soon as the line runs (the DEBUG trap's first call after PS0 was expanded), the
// user's settings are put back and applied to that one entry by hand, so their history ends up
// as it would without hx, and a line they keep out of it never reaches the history file. A
// line whose commands all run in a subshell never calls the DEBUG trap: it is read back at the
// next prompt instead. With history turned off (set +o history) nothing can turn it on for one
// line (bash restores the option after PROMPT_COMMAND and traps), so the line is put together
// from the simple commands the DEBUG trap sees, joined with "; ".
const BASH = (bin: string, rec: string) =>
  `# hx shell history (eval "$(hx init bash)" in ~/.bashrc; bash 5 or later)
if [[ -z "\${HX_SESSION:-}" || "\${HX_SESSION_PID:-}" != "$$" ]]; then
  export HX_SESSION="bash-\${EPOCHSECONDS}-$$-$RANDOM$RANDOM"
  export HX_SESSION_PID=$$
fi
_hx_seq=0 _hx_ran= _hx_t0= _hx_cwd=$PWD _hx_cmd= _hx_taken= _hx_armed= _hx_off= _hx_e=
_hx_entry='^[[:space:]]*([0-9]+)[* ] (.*)$' # how bash prints a history entry: "%5d%c %s"
if [[ -n "\${HX_BIN:-}" ]]; then
  read -r -a _hx_bin <<< "$HX_BIN"
  _hx_rec=("\${_hx_bin[@]}")
else
  _hx_bin=(${bin}) _hx_rec=(${rec})
fi
export HX_HOOK_BIN="\${_hx_rec[*]}" # what records, for hx doctor to check
# PS0 is expanded once a line is read, just before it runs: it notes that, and when (in µs).
_hx_ps0='\${_hx_e:$((_hx_ran=1,_hx_t0=\${EPOCHREALTIME/[.,]/},0)):0}'
PS0="\${PS0-}$_hx_ps0"
_hx_arm() {
  _hx_armed=1 _hx_off=
  [[ -o history ]] || { _hx_off=1; return; }
  _hx_u_control=\${HISTCONTROL-} _hx_u_control_set=\${HISTCONTROL+1}
  _hx_u_ignore=\${HISTIGNORE-} _hx_u_ignore_set=\${HISTIGNORE+1}
  _hx_u_size=\${HISTSIZE-} _hx_u_size_set=\${HISTSIZE+1}
  if [[ ":\${HISTCONTROL-}:" == *:erasedups:* ]]; then HISTCONTROL=erasedups; else HISTCONTROL=; fi
  HISTIGNORE=
  [[ "\${HISTSIZE-1}" =~ ^-?[0-9]+$ ]] && (( \${HISTSIZE-1} < 1 )) && HISTSIZE=1
}
_hx_disarm() { # $1: the number of the entry the line made (empty: none was read)
  local num=$1 cmd=$2 drop= prev= marker= pat pats IFS
  _hx_armed=
  [[ -n "$_hx_off" ]] && return
  if [[ -n "$_hx_u_control_set" ]]; then HISTCONTROL=$_hx_u_control; else unset HISTCONTROL; fi
  if [[ -n "$_hx_u_ignore_set" ]]; then HISTIGNORE=$_hx_u_ignore; else unset HISTIGNORE; fi
  if [[ -n "$num" ]]; then
    case ":\${HISTCONTROL-}:" in *:ignorespace:*|*:ignoreboth:*) [[ "$cmd" == [[:space:]]* ]] && drop=1 ;; esac
    case ":\${HISTCONTROL-}:\${HISTIGNORE-}:" in *:ignoredups:*|*:ignoreboth:*|*:'&':*)
      # (not fc: run from here it counts the running line as its own and shifts by one)
      prev=$(HISTTIMEFORMAT= builtin history 2) marker=$'\\n'$(printf '%5d' "$num")
      if [[ "$prev" == *"$marker"* ]]; then prev=\${prev%"$marker"*}; prev=\${prev#*[0-9][* ] }; else prev=; fi ;;
    esac
    case ":\${HISTCONTROL-}:" in *:ignoredups:*|*:ignoreboth:*) [[ "$cmd" == "$prev" ]] && drop=1 ;; esac
    IFS=: read -r -a pats <<< "\${HISTIGNORE-}"
    for pat in "\${pats[@]}"; do
      if [[ "$pat" == '&' ]]; then [[ "$cmd" == "$prev" ]] && drop=1; elif [[ "$cmd" == $pat ]]; then drop=1; fi
    done
    [[ -n "$drop" ]] && builtin history -d "$num"
  fi
  if [[ -n "$_hx_u_size_set" ]]; then HISTSIZE=$_hx_u_size; else unset HISTSIZE; fi
}
_hx_take() { # the line that just started, read back before it can reach the history file
  _hx_taken=1
  local line num= cmd=
  line=$(HISTTIMEFORMAT= builtin history 1)
  [[ $line =~ $_hx_entry ]] && num=\${BASH_REMATCH[1]} cmd=\${BASH_REMATCH[2]}
  _hx_cmd=$cmd
  _hx_disarm "$num" "$cmd"
}
_hx_debug() {
  [[ -z "$_hx_ran" || -z "$_hx_armed" || "$BASH_COMMAND" == _hx_precmd* ]] && return
  if [[ -n "$_hx_off" ]]; then
    (( BASH_SUBSHELL == 0 )) && _hx_cmd+=\${_hx_cmd:+; }$BASH_COMMAND
  elif [[ -z "$_hx_taken" ]]; then
    _hx_take
  fi
}
_hx_precmd() {
  local rc=$? end=\${EPOCHREALTIME/[.,]/}
  [[ -n "$_hx_ran" && -z "$_hx_taken" && -n "$_hx_armed" && -z "$_hx_off" ]] && _hx_take
  [[ -n "$_hx_armed" ]] && _hx_disarm "" ""
  if [[ -n "$_hx_ran" && -n "$_hx_cmd" && "$_hx_cmd" != [[:space:]]* ]]; then
    (( _hx_seq++ ))
    # nohup: a shell that exits right away must not take the recorder down with it.
    (printf '%s' "$_hx_cmd" | nohup "\${_hx_rec[@]}" record --session "$HX_SESSION" \\
      --seq $_hx_seq --start $_hx_t0 --end $end --exit $rc --cwd "$_hx_cwd" --shell bash \\
      >/dev/null 2>&1 &)
  fi
  _hx_ran= _hx_taken= _hx_cmd= _hx_cwd=$PWD
  [[ "\${PS0-}" == *"$_hx_ps0"* ]] || PS0="\${PS0-}$_hx_ps0" # another tool replaced PS0
  _hx_arm
  return $rc
}
if [[ -n "\${bash_preexec_imported:-}\${__bp_imported:-}" ]]; then
  # bash-preexec owns the DEBUG trap and PROMPT_COMMAND: take part through it.
  precmd_functions=(_hx_precmd "\${precmd_functions[@]}")
  preexec_functions+=(_hx_debug)
else
  # Keep the DEBUG trap that is there (it runs first, and sees $_ as it was).
  _hx_trap=$(trap -p DEBUG)
  eval "_hx_trap=(\${_hx_trap:-})"
  trap "_hx_arg=\\$_; \${_hx_trap[2]:+\${_hx_trap[2]}
}_hx_debug; : \\"\\$_hx_arg\\"" DEBUG
  unset _hx_trap
  # First, so that it sees the command's exit status; it hands that status on.
  PROMPT_COMMAND="_hx_precmd\${PROMPT_COMMAND:+$'\\n'$PROMPT_COMMAND}"
fi
`;

const FISH = (bin: string, rec: string) =>
  `# hx shell history (hx init fish | source, in ~/.config/fish/config.fish)
if not set -q HX_SESSION; or test "$HX_SESSION_PID" != "$fish_pid"
  set -gx HX_SESSION "fish-"(date +%s)"-$fish_pid-"(random)(random)
  set -gx HX_SESSION_PID $fish_pid
end
set -g _hx_seq 0
if set -q HX_BIN
  set -g _hx_bin (string split ' ' -- $HX_BIN)
  set -g _hx_rec $_hx_bin
else
  set -g _hx_bin ${bin}
  set -g _hx_rec ${rec}
end
set -gx HX_HOOK_BIN "$_hx_rec" # what records, for hx doctor to check
function _hx_preexec --on-event fish_preexec
  set -g _hx_cwd $PWD
end
function _hx_postexec --on-event fish_postexec
  set -l rc $status
  string match -q -- ' *' $argv[1]; and return
  test -z "$argv[1]"; and return
  set -g _hx_seq (math $_hx_seq + 1)
  # When it ended, for the recorder that starts later: fish has no clock in ms, but reading
  # /proc/uptime (Linux) starts no process.
  set -l up
  test -r /proc/uptime; and read -l t _ </proc/uptime; and set up --uptime $t
  # nohup: fish hangs up its jobs when it exits, and the recorder must outlive it.
  printf '%s' $argv[1] | command nohup $_hx_rec record --session $HX_SESSION --seq $_hx_seq \\
    --duration $CMD_DURATION $up --exit $rc --cwd $_hx_cwd --shell fish >/dev/null 2>&1 &
  disown 2>/dev/null
end
`;

/** Which keys the hook binds to `hx search`. */
export interface KeyBindings {
  /** ctrl-r: search all history. */
  ctrlR: boolean;
  /** The up arrow: search this session's commands. */
  upArrow: boolean;
}

// Each binding runs `hx search` on the terminal with what is on the prompt (passed in the
// environment, never on an argv), then puts the choice on the prompt: its first line says
// whether to run it (enter) or leave it there to edit (tab).
const SEARCH_KEYS: Record<Shell, (keys: KeyBindings) => string> = {
  zsh: (keys) =>
    !keys.ctrlR && !keys.upArrow ? "" : `if [[ -o interactive ]]; then
_hx_search() {
  emulate -L zsh
  local out
  out=$(HX_SEARCH_QUERY=$BUFFER "\${_hx_bin[@]}" search "$@" </dev/tty)
  zle reset-prompt
  [[ -z "$out" ]] && return 0
  BUFFER=\${out#*$'\\n'}
  CURSOR=\${#BUFFER}
  [[ "\${out%%$'\\n'*}" == run ]] && zle accept-line
  return 0
}
_hx_search_up() { _hx_search --filter session; }
zle -N _hx_search
zle -N _hx_search_up
${keys.ctrlR ? "bindkey -M emacs '^R' _hx_search\nbindkey -M viins '^R' _hx_search\n" : ""}${
      keys.upArrow
        ? "for _hx_m in emacs viins; do\n  bindkey -M $_hx_m '^[[A' _hx_search_up\n  bindkey -M $_hx_m '^[OA' _hx_search_up\ndone\nunset _hx_m\n"
        : ""
    }fi
`,
  bash: (keys) =>
    !keys.ctrlR && !keys.upArrow ? "" : `if [[ $- == *i* ]]; then
_hx_search() {
  local out
  out=$(HX_SEARCH_QUERY=$READLINE_LINE "\${_hx_bin[@]}" search "$@" </dev/tty)
  # The key's macro runs \\C-x\\C-h2 next: accept-line to run the choice, else nothing.
  bind '"\\C-x\\C-h2": redraw-current-line'
  [[ -z "$out" ]] && return 0
  READLINE_LINE=\${out#*$'\\n'}
  READLINE_POINT=\${#READLINE_LINE}
  [[ "\${out%%$'\\n'*}" == run ]] && bind '"\\C-x\\C-h2": accept-line'
  return 0
}
bind -x '"\\C-x\\C-h1": _hx_search'
bind -x '"\\C-x\\C-h3": _hx_search --filter session'
bind '"\\C-x\\C-h2": redraw-current-line'
${keys.ctrlR ? `bind '"\\C-r": "\\C-x\\C-h1\\C-x\\C-h2"'\n` : ""}${
      keys.upArrow
        ? `bind '"\\e[A": "\\C-x\\C-h3\\C-x\\C-h2"'\nbind '"\\eOA": "\\C-x\\C-h3\\C-x\\C-h2"'\n`
        : ""
    }fi
`,
  fish: (keys) =>
    !keys.ctrlR && !keys.upArrow ? "" : `if status is-interactive
function _hx_search
  set -l out (HX_SEARCH_QUERY=(commandline | string collect) $_hx_bin search $argv </dev/tty | string collect)
  commandline -f repaint
  test -n "$out"; or return 0
  set -l parts (string split -m1 \\n -- $out)
  commandline -r -- $parts[2]
  test "$parts[1]" = run; and commandline -f execute
end
function _hx_search_up
  _hx_search --filter session
end
${keys.ctrlR ? "bind \\cr _hx_search\nbind -M insert \\cr _hx_search 2>/dev/null\n" : ""}${
      keys.upArrow
        ? "bind \\e\\[A _hx_search_up\nbind -M insert \\e\\[A _hx_search_up 2>/dev/null\n"
        : ""
    }end
`,
};

/**
 * The hook for a shell.
 *
 * @param shell `zsh`, `bash` or `fish`.
 * @param bin The words that run hx (default {@linkcode selfCommand}); `HX_BIN` in the
 *   environment overrides them when the hook is loaded.
 * @param keys Which keys open `hx search` (default: ctrl-r only).
 * @param recorder The words that run `hx record` (default: {@linkcode recorderCommand} when
 *   `bin` is the default, else `bin`).
 * @returns Shell code to `eval` (or `source` in fish).
 */
export function hookScript(
  shell: Shell,
  bin?: string[],
  keys: KeyBindings = { ctrlR: true, upArrow: false },
  recorder?: string[],
): string {
  const words = bin ?? selfCommand();
  const rec = recorder ?? (bin === undefined ? recorderCommand() : words);
  const quote = shell === "fish" ? fishQuote : posixQuote;
  const [b, r] = [words.map(quote).join(" "), rec.map(quote).join(" ")];
  const script = shell === "fish" ? FISH(b, r) : shell === "zsh" ? ZSH(b, r) : BASH(b, r);
  return script + SEARCH_KEYS[shell](keys);
}
