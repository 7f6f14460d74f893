# awsx shell integration for fish. Add to ~/.config/fish/config.fish:
#
#     awsx init fish | source
#
# `awsx use` has to change this shell's environment, which only a shell function can do:
# this function runs the awsx binary with AWSX_SHELL=fish and sources the fish code it
# prints on stdout (nothing else ever goes there). Every other subcommand runs unchanged.
#
# Prompt: AWSX_PROFILE is the active profile and AWSX_BREAKGLASS=1 marks a break-glass one;
# e.g. in fish_prompt: set -q AWSX_PROFILE; and printf '(%s) ' $AWSX_PROFILE

function awsx --description 'awsx: AWS SSO credentials and profile switching'
    if test (count $argv) -ge 1; and test "$argv[1]" = use
        if contains -- -h $argv; or contains -- --help $argv
            __AWSX_BIN__ $argv
            return
        end
        # A pipeline, not a command substitution: fish does not apply the function's
        # redirections (`awsx use NAME >/dev/null 2>&1`) to the stderr of a command
        # substitution, but does to a pipeline's. The binary prints code only on success.
        env AWSX_SHELL=fish __AWSX_BIN__ $argv | source
        return $pipestatus[1]
    else
        __AWSX_BIN__ $argv
    end
end

# Completion of subcommands and flags (the script `awsx completions fish` prints, which the
# packages also install) and of profile names (which it asks the binary for as you type).
__AWSX_BIN__ completions fish | source
