# awsx shell integration for zsh. Add to ~/.zshrc:
#
#     eval "$(awsx init zsh)"
#
# `awsx use` has to change this shell's environment, which only a shell function can do:
# this function runs the awsx binary with AWSX_SHELL=zsh and evaluates the shell code it
# prints on stdout (nothing else ever goes there). Every other subcommand runs unchanged.
#
# Prompt: AWSX_PROFILE is the active profile and AWSX_BREAKGLASS=1 marks a break-glass one,
# e.g. setopt PROMPT_SUBST; PROMPT='${AWSX_BREAKGLASS:+%F{red}[BREAK-GLASS]%f }${AWSX_PROFILE:+($AWSX_PROFILE) }'$PROMPT

awsx() {
    if [[ "${1-}" == use ]]; then
        if (( ${@[(I)-h]} || ${@[(I)--help]} )); then
            __AWSX_BIN__ "$@"
            return
        fi
        local __awsx_code
        __awsx_code="$(AWSX_SHELL=zsh __AWSX_BIN__ "$@")" || return
        eval "$__awsx_code"
    else
        __AWSX_BIN__ "$@"
    fi
}

# Completion of subcommands and flags (the script `awsx completions zsh` prints, which the
# packages also install) and of profile names (which it asks the binary for as you type);
# needs the completion system (compinit) loaded before this line.
if (( $+functions[compdef] )); then
    source <(__AWSX_BIN__ completions zsh)
fi
