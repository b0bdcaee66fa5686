package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// CompletionCmd prints a shell completion script, written from the kong
// model of this binary's commands and flags (no completion library: the
// script is static, so completing costs the shell no anyphone run).
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"bash (source <(anyphone completion bash)), zsh (write it to _anyphone in your fpath) or fish (write it to ~/.config/fish/completions/anyphone.fish)."`

	out io.Writer // stdout; tests set it
}

// Run writes the script for Shell.
func (c *CompletionCmd) Run(kctx *kong.Context) error {
	w := c.out
	if w == nil {
		w = os.Stdout
	}
	t := completionTable(kctx.Model.Node)
	var err error
	switch c.Shell {
	case "bash":
		_, err = io.WriteString(w, bashCompletion(t))
	case "zsh":
		_, err = io.WriteString(w, "#compdef anyphone\n# anyphone completion for zsh (bash's script through bashcompinit)\nautoload -U +X bashcompinit && bashcompinit\n"+bashCompletion(t))
	case "fish":
		_, err = io.WriteString(w, fishCompletion(t))
	}
	return err
}

// compTable is, by command path ("", "ctl", "ctl ladder"), the words
// that can follow: subcommands, flags, the values of an enum argument.
type compTable struct {
	paths     []string
	cmds      map[string][]string // subcommands
	words     map[string][]string // subcommands, flags, argument values
	valueFlag []string            // flags that take a value (the next word is not a command)
	enums     map[string][]string // a value flag's choices
}

func completionTable(root *kong.Node) compTable {
	t := compTable{cmds: map[string][]string{}, words: map[string][]string{}, enums: map[string][]string{}}
	var walk func(n *kong.Node, path string)
	walk = func(n *kong.Node, path string) {
		t.paths = append(t.paths, path)
		var words []string
		for _, ch := range n.Children {
			if ch.Hidden || ch.Type != kong.CommandNode {
				continue
			}
			t.cmds[path] = append(t.cmds[path], ch.Name)
			words = append(words, ch.Name)
		}
		groups := n.AllFlags(true)
		if d := n.DefaultCmd; d != nil {
			groups = append(groups, d.Flags) // anyphone --audio x is anyphone tui --audio x
		}
		seen := map[string]bool{}
		for _, group := range groups {
			for _, f := range group {
				if f.Hidden || seen[f.Name] {
					continue
				}
				seen[f.Name] = true
				words = append(words, "--"+f.Name)
				if f.Negated {
					words = append(words, "--no-"+f.Name)
				}
				if f.Short != 0 {
					words = append(words, "-"+string(f.Short))
				}
				if !f.IsBool() && !f.IsCounter() {
					if f.Enum != "" {
						var vs []string
						for _, v := range strings.Split(f.Enum, ",") {
							if v = strings.TrimSpace(v); v != "" {
								vs = append(vs, v)
							}
						}
						t.enums["--"+f.Name] = vs
					}
					t.valueFlag = append(t.valueFlag, "--"+f.Name)
					if f.Short != 0 {
						t.valueFlag = append(t.valueFlag, "-"+string(f.Short))
					}
				}
			}
		}
		for _, p := range n.Positional {
			if p.Enum != "" {
				for _, v := range strings.Split(p.Enum, ",") {
					words = append(words, strings.TrimSpace(v))
				}
			}
		}
		t.words[path] = words
		for _, ch := range n.Children {
			if ch.Hidden || ch.Type != kong.CommandNode {
				continue
			}
			walk(ch, strings.TrimSpace(path+" "+ch.Name))
		}
	}
	walk(root, "")
	slices.Sort(t.valueFlag)
	t.valueFlag = slices.Compact(t.valueFlag)
	return t
}

func bashCompletion(t compTable) string {
	var b strings.Builder
	b.WriteString(`# anyphone completion for bash: source <(anyphone completion bash)
_anyphone_cmds() {
  case "$1" in
`)
	for _, p := range t.paths {
		if len(t.cmds[p]) > 0 {
			fmt.Fprintf(&b, "    %q) echo %q ;;\n", p, strings.Join(t.cmds[p], " "))
		}
	}
	b.WriteString(`  esac
}
_anyphone_words() {
  case "$1" in
`)
	for _, p := range t.paths {
		fmt.Fprintf(&b, "    %q) echo %q ;;\n", p, strings.Join(t.words[p], " "))
	}
	fmt.Fprintf(&b, `  esac
}
_anyphone() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev= path= w i
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}
  case "$prev" in
%s  esac
  case " %s " in
    *" $prev "*) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in -*) continue ;; esac
    case " $(_anyphone_cmds "$path") " in
      *" $w "*) path=${path:+$path }$w ;;
    esac
  done
  COMPREPLY=($(compgen -W "$(_anyphone_words "$path")" -- "$cur"))
}
complete -F _anyphone anyphone
`, bashEnumCases(t), strings.Join(t.valueFlag, " "))
	return b.String()
}

// bashEnumCases completes the choices of enum flags (--answer auto|…).
func bashEnumCases(t compTable) string {
	var b strings.Builder
	for _, f := range slices.Sorted(maps.Keys(t.enums)) {
		fmt.Fprintf(&b, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", f, strings.Join(t.enums[f], " "))
	}
	return b.String()
}

func fishCompletion(t compTable) string {
	var b strings.Builder
	b.WriteString(`# anyphone completion for fish: anyphone completion fish > ~/.config/fish/completions/anyphone.fish
function __anyphone_cmds
  switch "$argv[1]"
`)
	for _, p := range t.paths {
		if len(t.cmds[p]) > 0 {
			fmt.Fprintf(&b, "    case %s\n      printf '%%s\\n' %s\n", fishQuote(p), strings.Join(t.cmds[p], " "))
		}
	}
	b.WriteString(`  end
end
function __anyphone_words
  switch "$argv[1]"
`)
	for _, p := range t.paths {
		var ws []string
		for _, w := range t.words[p] {
			ws = append(ws, fishQuote(w))
		}
		fmt.Fprintf(&b, "    case %s\n      printf '%%s\\n' %s\n", fishQuote(p), strings.Join(ws, " "))
	}
	fmt.Fprintf(&b, `  end
end
function __anyphone_path
  set -l toks (commandline -opc)
  set -l path ""
  for t in $toks[2..-1]
    switch $t
      case '-*'
        continue
    end
    if contains -- $t (__anyphone_cmds "$path")
      set path (string trim -- "$path $t")
    end
  end
  echo $path
end
function __anyphone_wants_value
  set -l toks (commandline -opc)
  contains -- $toks[-1] %s
end
function __anyphone_values
  set -l toks (commandline -opc)
  switch $toks[-1]
%s  end
end
function __anyphone_wants_enum
  set -l v (__anyphone_values)
  test (count $v) -gt 0
end
complete -c anyphone -n '__anyphone_wants_enum' -f -a '(__anyphone_values)'
complete -c anyphone -n '__anyphone_wants_value; and not __anyphone_wants_enum' -F
complete -c anyphone -n 'not __anyphone_wants_value' -f -a '(__anyphone_words (__anyphone_path))'
`, strings.Join(t.valueFlag, " "), fishEnumCases(t))
	return b.String()
}

func fishEnumCases(t compTable) string {
	var b strings.Builder
	for _, f := range slices.Sorted(maps.Keys(t.enums)) {
		fmt.Fprintf(&b, "    case %s\n      printf '%%s\\n' %s\n", fishQuote(f), strings.Join(t.enums[f], " "))
	}
	return b.String()
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
