# awsx shell integration for PowerShell (untested: pwsh is not available where awsx is
# built and tested). Add to $PROFILE:
#
#     Invoke-Expression (& awsx init powershell | Out-String)
#
# `awsx use` has to change this session's environment, which only a function can do: this
# function runs the awsx binary with AWSX_SHELL=powershell and evaluates the PowerShell code
# it prints on stdout (nothing else ever goes there). Every other subcommand runs unchanged.
#
# Prompt: $env:AWSX_PROFILE is the active profile and $env:AWSX_BREAKGLASS = '1' marks a
# break-glass one.

function awsx {
    if ($args.Count -ge 1 -and $args[0] -eq 'use' -and -not ($args -contains '-h' -or $args -contains '--help')) {
        $awsxPreviousShell = $env:AWSX_SHELL
        $env:AWSX_SHELL = 'powershell'
        try {
            $awsxCode = & __AWSX_BIN__ @args
        } finally {
            $env:AWSX_SHELL = $awsxPreviousShell
        }
        if ($LASTEXITCODE -eq 0 -and $awsxCode) {
            Invoke-Expression ($awsxCode -join "`n")
        }
    } else {
        & __AWSX_BIN__ @args
    }
}

# Completion of subcommands and flags (the script `awsx completions powershell` prints).
& __AWSX_BIN__ completions powershell | Out-String | Invoke-Expression
