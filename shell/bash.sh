# awsx shell integration for bash. Add to ~/.bashrc:
#
#     eval "$(awsx init bash)"
#
# `awsx use` has to change this shell's environment, which only a shell function can do:
# this function runs the awsx binary with AWSX_SHELL=bash and evaluates the shell code it
# prints on stdout (nothing else ever goes there). Every other subcommand runs unchanged.
#
# Prompt: AWSX_PROFILE is the active profile and AWSX_BREAKGLASS=1 marks a break-glass one,
# e.g. PS1='${AWSX_BREAKGLASS:+[BREAK-GLASS] }${AWSX_PROFILE:+($AWSX_PROFILE) }'"$PS1"

awsx() {
    if [ "${1-}" = use ]; then
        case " $* " in
        *" -h "* | *" --help "*)
            __AWSX_BIN__ "$@"
            return
            ;;
        esac
        local __awsx_code
        __awsx_code="$(AWSX_SHELL=bash __AWSX_BIN__ "$@")" || return
        eval "$__awsx_code"
    else
        __AWSX_BIN__ "$@"
    fi
}

# Completion of subcommands and flags (the script `awsx completions bash` prints, which the
# packages also install) and of profile names (which it asks the binary for as you type).
# shellcheck disable=SC1090
source <(__AWSX_BIN__ completions bash)
