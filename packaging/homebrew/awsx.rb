# Homebrew formula for awsx: builds from the release's source tarball with cargo and installs
# the man pages and shell completions that the built binary generates (awsx man, awsx
# completions), so they always match the binary.
#
# `url` and `sha256` name the release tarball; packaging/homebrew/set-release rewrites them
# when a version is tagged. Until the first tag, use `brew install --HEAD`.
class Awsx < Formula
  desc "SSO logins and keychain-cached short-lived AWS credentials for developer machines"
  homepage "https://github.com/awsx-dev/awsx"
  url "https://github.com/awsx-dev/awsx/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license any_of: ["MIT", "Apache-2.0"]
  head "https://github.com/awsx-dev/awsx.git", branch: "main"

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args
    generate_completions_from_executable(bin/"awsx", "completions")
    system bin/"awsx", "man", "--dir", buildpath/"man"
    man1.install Dir[buildpath/"man/*.1"]
    doc.install "README.md"
  end

  test do
    # cargo install puts both binaries in bin: awsx runs awsx-main for all but cache hits.
    assert_path_exists bin/"awsx-main"
    assert_match "awsx #{version}", shell_output("#{bin}/awsx --version")
    assert_match "completions", shell_output("#{bin}/awsx --help")
    assert_match "_awsx", shell_output("#{bin}/awsx completions zsh")
    (testpath/".aws/config").write "[profile sandbox]\nregion = us-east-1\n"
    ENV["AWS_CONFIG_FILE"] = testpath/".aws/config"
    assert_equal "sandbox\n", shell_output("#{bin}/awsx __complete-profiles")
  end
end
